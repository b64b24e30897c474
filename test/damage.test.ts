import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptionError, type EngineName, type EventStore } from '../lib/index.js';
import { verifyStore } from '../lib/verify.js';
import { chunkPath, collect, ENGINES, MiB, openStore, tempDir } from './helpers.js';

const EVENTS = 300;
const DAMAGED = 150;

/** A closed store of EVENTS one-event appends in one chunk; returns it and every event's position. */
async function makeStore(engine: EngineName, pad = 40): Promise<{ dir: string; positions: number[] }> {
  const dir = tempDir();
  const s = await openStore(dir, engine);
  for (let i = 0; i < EVENTS; i++) {
    await s.append(`s-${i % 10}`, [{ type: 'T', data: { i, pad: 'x'.repeat(pad) } }], { commandId: `c-${i}` });
  }
  const positions = (await collect(s.readAll())).map((e) => e.position);
  await s.close();
  return { dir, positions };
}

function flipByte(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, offset);
  b[0] = (b[0] as number) ^ 0x10;
  fs.writeSync(fd, b, 0, 1, offset);
  fs.closeSync(fd);
}

function spoilCheckpoint(dir: string): void {
  fs.writeFileSync(path.join(dir, 'chunks', 'writer.chk'), Buffer.alloc(48, 0xab));
}

/**
 * Every event but the damaged one, by command id; the damaged one's stream refuses a read across
 * it (its version is missing) and answers reads on either side of it.
 */
async function expectAllButDamaged(s: EventStore, damaged: number): Promise<void> {
  for (let i = 0; i < EVENTS; i++) if (i !== damaged) expect((await s.readCommand(`c-${i}`))?.[0]?.data).toMatchObject({ i });
  const stream = `s-${damaged % 10}`;
  const version = Math.floor(damaged / 10) + 1;
  await expect(s.readStream(stream)).rejects.toBeInstanceOf(CorruptionError);
  await expect(s.readEvent(stream, version)).rejects.toBeInstanceOf(CorruptionError);
  expect((await s.readStream(stream, { limit: version - 1 })).length).toBe(version - 1);
  expect((await s.readStream(stream, { fromVersion: version + 1 })).length).toBe(EVENTS / 10 - version);
}

/** readAll refuses the damaged record after the events before it; salvaging skips and reports it. */
async function expectSalvage(s: EventStore, damagedPosition: number): Promise<void> {
  const before: number[] = [];
  await expect(async () => {
    for await (const e of s.readAll()) before.push(e.position);
  }).rejects.toMatchObject({ code: 'CORRUPTION', position: damagedPosition });
  expect(before).toHaveLength(DAMAGED);
  const skipped: number[] = [];
  const salvaged = await collect(s.readAll({ onDamaged: (p) => skipped.push(p) }));
  expect(skipped).toEqual([damagedPosition]);
  expect(salvaged.map((e) => (e.data as { i: number }).i)).toEqual([...Array(EVENTS).keys()].filter((i) => i !== DAMAGED));
}

describe.each(ENGINES)('damaged records (%s engine)', (engine) => {
  // With the checkpoint unreadable the tail is scanned from its start; a damaged record there used
  // to be taken for a torn tail, and every acknowledged record after it was zeroed.
  it('recovery keeps the records after a damaged one in the tail (checkpoint unreadable)', async () => {
    const { dir, positions } = await makeStore(engine);
    const damagedPosition = positions[DAMAGED] as number;
    flipByte(chunkPath(dir), (damagedPosition % MiB) + 30);
    spoilCheckpoint(dir);
    fs.rmSync(path.join(dir, 'index'), { recursive: true }); // the index is replayed from the log, too
    const s = await openStore(dir, engine);
    const stats = await s.stats();
    expect(stats.recovery).toMatchObject({ torn: false, damaged: [damagedPosition] });
    expect(stats.eventCount).toBe(EVENTS - 1);
    await expectAllButDamaged(s, DAMAGED);
    await expectSalvage(s, damagedPosition);
    await s.append('after', [{ type: 'T', data: { i: -1 } }]);
    await s.close();
    const again = await openStore(dir, engine, { readOnly: true });
    await expectAllButDamaged(again, DAMAGED);
    expect((await collect(again.readAll({ onDamaged: () => {} }))).length).toBe(EVENTS);
    expect(
      verifyStore(dir)
        .faults.map((f) => f.problem)
        .join(),
    ).toMatch(/checksum|damaged/);
  });

  // A sector of the last write that never reached the disk reads as zeroes (everything past the
  // log's end does): a damaged record whose span holds one is a torn write, cut with what follows.
  it('a damaged record holding an all-zero sector is a torn write: cut, with what follows it', async () => {
    const { dir, positions } = await makeStore(engine, 2000);
    const torn = EVENTS - 5;
    const tornPosition = positions[torn] as number;
    const fd = fs.openSync(chunkPath(dir), 'r+');
    const sector = Math.ceil(((tornPosition % MiB) + 100) / 512) * 512;
    fs.writeSync(fd, Buffer.alloc(512), 0, 512, sector);
    fs.closeSync(fd);
    spoilCheckpoint(dir);
    fs.rmSync(path.join(dir, 'index'), { recursive: true });
    const s = await openStore(dir, engine);
    expect((await s.stats()).recovery).toMatchObject({ torn: true, tornPosition, damaged: [] });
    expect((await collect(s.readAll())).length).toBe(torn);
  });

  // Past the checkpoint's reach, a damaged record in the range the index replays at open made the
  // whole store unreachable: open refused, read-only too, and with it stats, export, rebuild-index.
  it('the index replay skips and reports a damaged record; the store opens, writable and read-only', async () => {
    const { dir, positions } = await makeStore(engine);
    const damagedPosition = positions[DAMAGED] as number;
    flipByte(chunkPath(dir), (damagedPosition % MiB) + 30);
    fs.rmSync(path.join(dir, 'index'), { recursive: true });
    for (const readOnly of [true, false]) {
      const s = await openStore(dir, engine, { readOnly });
      expect((await s.stats()).recovery).toMatchObject({ torn: false, damaged: [damagedPosition] });
      await expectAllButDamaged(s, DAMAGED);
      await expectSalvage(s, damagedPosition);
      await s.close();
    }
  });

  it('a record whose CRC holds but whose body does not decode is skipped by the replay, and by a salvaging readAll', async () => {
    const { dir, positions } = await makeStore(engine);
    const damagedPosition = positions[DAMAGED] as number;
    const file = chunkPath(dir);
    const frame = Buffer.alloc((positions[DAMAGED + 1] as number) - damagedPosition);
    const fd = fs.openSync(file, 'r+');
    fs.readSync(fd, frame, 0, frame.length, damagedPosition % MiB);
    frame[16 + 16] = 0xff; // the payload flags (body offset 16): unknown bits
    const { crc32c } = await import('../lib/format/crc32c.js');
    frame.writeUInt32LE(crc32c(frame, 0, 8, frame.length), 4);
    fs.writeSync(fd, frame, 0, frame.length, damagedPosition % MiB);
    fs.closeSync(fd);
    fs.rmSync(path.join(dir, 'index'), { recursive: true });
    const s = await openStore(dir, engine);
    expect((await s.stats()).recovery.damaged).toEqual([damagedPosition]);
    await expectSalvage(s, damagedPosition);
  });

  // With the checkpoint gone, a zeroed page among records the index covers read as the clean end
  // of the log: recovery cut everything after it, index and all. The index proves those records
  // were durable: that is damage, and a writable open refuses before it changes anything.
  it('records missing below what the index covers: a writable open refuses and changes nothing', async () => {
    const { dir, positions } = await makeStore(engine);
    const at = Math.ceil(((positions[DAMAGED] as number) % MiB) / 4096) * 4096;
    const fd = fs.openSync(chunkPath(dir), 'r+');
    fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, at);
    fs.closeSync(fd);
    spoilCheckpoint(dir);
    const image = fs.readFileSync(chunkPath(dir));
    await expect(openStore(dir, engine)).rejects.toMatchObject({
      code: 'CORRUPTION',
      message: expect.stringMatching(/below what the index covers/),
    });
    expect(fs.readFileSync(chunkPath(dir)).equals(image)).toBe(true);
    const reader = await openStore(dir, engine, { readOnly: true });
    expect((await collect(reader.readAll())).length).toBeGreaterThan(DAMAGED);
  });

  it('readAll checks onDamaged', async () => {
    const s = await openStore(tempDir(), engine);
    await expect(collect(s.readAll({ onDamaged: 3 as unknown as () => void }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe.each(ENGINES)('missing chunks (%s engine)', (engine) => {
  /** A closed store of three chunks or more: 320 appends of ~10 KB in 1 MiB chunks, indexed. */
  async function threeChunks(): Promise<{ dir: string; count: number }> {
    const dir = tempDir();
    const s = await openStore(dir, engine, { indexMemtableEntries: 50 });
    for (let i = 0; i < 320; i++) await s.append(`s-${i % 4}`, [{ type: 'T', data: { i, pad: 'x'.repeat(10_000) } }]);
    await s.close();
    return { dir, count: fs.readdirSync(path.join(dir, 'chunks')).filter((n) => n.endsWith('.chunk')).length };
  }

  // Deleting the last chunk file used to open without a word: recovery rewrote the checkpoint,
  // the index segments past the new end were deleted, and verify then found nothing wrong.
  it('a missing tail chunk is CORRUPTION: no writable open, a read-only open serves the rest, verify reports it', async () => {
    const { dir, count } = await threeChunks();
    expect(count).toBeGreaterThanOrEqual(3);
    fs.rmSync(chunkPath(dir, count - 1));
    const before = fs.readdirSync(path.join(dir, 'index')).sort();
    const checkpoint = fs.readFileSync(path.join(dir, 'chunks', 'writer.chk'));
    await expect(openStore(dir, engine)).rejects.toMatchObject({ code: 'CORRUPTION', message: expect.stringMatching(/is missing/) });
    expect(fs.readdirSync(path.join(dir, 'index')).sort()).toEqual(before);
    expect(fs.readFileSync(path.join(dir, 'chunks', 'writer.chk'))).toEqual(checkpoint);
    const reader = await openStore(dir, engine, { readOnly: true });
    const intact = await collect(reader.readAll());
    expect(intact.length).toBeGreaterThan(0);
    expect(intact.length).toBeLessThan(320);
    expect(intact.map((e) => (e.data as { i: number }).i)).toEqual([...Array(intact.length).keys()]);
    await reader.close();
    const faults = verifyStore(dir).faults;
    expect(faults.some((f) => /is missing/.test(f.problem))).toBe(true);
  });

  it('the index alone shows a missing tail chunk when the checkpoint is gone too', async () => {
    const { dir, count } = await threeChunks();
    fs.rmSync(chunkPath(dir, count - 1));
    fs.rmSync(path.join(dir, 'chunks', 'writer.chk'));
    await expect(openStore(dir, engine)).rejects.toMatchObject({
      code: 'CORRUPTION',
      message: expect.stringMatching(/index segment .* is missing/),
    });
  });
});
