import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHUNK_FOOTER_SIZE, CHUNK_HEADER_SIZE, decodeChunkFooter, FRAME_HEADER_SIZE } from '../lib/format/layout.js';
import { BODY_FIXED_SIZE, frameSize } from '../lib/format/record-codec.js';
import { scanFrames } from '../lib/format/record-scanner.js';
import { CorruptionError, EventStore, LimitExceededError, StoreLockedError } from '../lib/index.js';
import { chunkPath, collect, ENGINES, MiB, openStore, tempDir } from './helpers.js';

function patch(file: string, offset: number, bytes: Uint8Array): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, bytes, 0, bytes.length, offset);
  fs.closeSync(fd);
}
function readBytes(file: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  const b = Buffer.alloc(length);
  fs.readSync(fd, b, 0, length, offset);
  fs.closeSync(fd);
  return b;
}

/** A store with three acknowledged appends; returns its dir and the end position. */
async function storeWithThree(engine: 'native' | 'js'): Promise<{ dir: string; end: number; positions: number[] }> {
  const dir = tempDir();
  const s = await openStore(dir, engine);
  const positions: number[] = [];
  for (let i = 0; i < 3; i++) positions.push((await s.append('t', [{ type: 'e', data: { i } }])).position);
  const end = (await s.stats()).endPosition;
  await s.close();
  return { dir, end, positions };
}

describe.each(ENGINES)('recovery (%s engine)', (engine) => {
  const tornCases: [string, (frame: Buffer) => Buffer][] = [
    ['a partial frame', (f) => f.subarray(0, Math.floor(f.length / 2))],
    ['a bad checksum', (f) => Buffer.concat([f.subarray(0, 20), Buffer.from([(f[20] as number) ^ 0xff]), f.subarray(21)])],
    ['a frame without COMMIT', (f) => Buffer.concat([f.subarray(0, 9), Buffer.from([0]), f.subarray(10)])],
    ['garbage', (f) => Buffer.alloc(f.length, 0xab)],
  ];
  it.each(tornCases)('cuts a torn tail made of %s and keeps every acknowledged event', async (_name, tear) => {
    const { dir, end, positions } = await storeWithThree(engine);
    const frame = readBytes(chunkPath(dir), positions[2] as number, end - (positions[2] as number));
    patch(chunkPath(dir), end, tear(frame));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const s = await openStore(dir, engine);
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    const stats = await s.stats();
    expect(stats.recovery).toMatchObject({ torn: true, tornPosition: end });
    expect(stats.recovery.discardedBytes).toBeGreaterThanOrEqual(0);
    expect(warnings.some((w) => w.includes('torn tail'))).toBe(true);
    expect((await s.readStream('t')).map((e) => e.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    await s.append('t', [{ type: 'e', data: { i: 3 } }], { expectedVersion: 3 });
    await s.close();
    const again = await openStore(dir, engine);
    expect((await again.stats()).recovery.torn).toBe(false);
    expect((await collect(again.readAll())).map((e) => e.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }]);
  });

  it('serves intact records and refuses a damaged acknowledged one with CORRUPTION, naming chunk and offset', async () => {
    const { dir, positions } = await storeWithThree(engine);
    const at = (positions[1] as number) + FRAME_HEADER_SIZE + BODY_FIXED_SIZE;
    patch(chunkPath(dir), at, Buffer.from([0x5a]));
    const s = await openStore(dir, engine);
    const err = await s.readEvent('t', 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as Error).message).toContain('00000000.chunk');
    expect((err as Error).message).toContain(`offset ${positions[1]}`);
    await expect(s.readStream('t')).rejects.toBeInstanceOf(CorruptionError);
    await expect(collect(s.readAll())).rejects.toBeInstanceOf(CorruptionError);
    expect((await s.readEvent('t', 1))?.data).toEqual({ i: 0 });
    expect((await s.readEvent('t', 3))?.data).toEqual({ i: 2 });
    // Appending goes on: the damage is in the past, not in the tail.
    await s.append('t', [{ type: 'e', data: { i: 3 } }], { expectedVersion: 3 });
  });

  it('drops stale frames of a crashed session that follow newer ones', async () => {
    const { dir, positions, end } = await storeWithThree(engine);
    // Simulate: the page holding event 2 never reached the disk, event 3 did, checkpoint lost.
    const second = positions[1] as number;
    const third = positions[2] as number;
    const staleThird = readBytes(chunkPath(dir), third, end - third);
    patch(chunkPath(dir), second, Buffer.alloc(third - second));
    fs.rmSync(path.join(dir, 'chunks', 'writer.chk'));
    // Nor did the index of events 2 and 3: it is built only from durable records.
    fs.rmSync(path.join(dir, 'index'), { recursive: true });
    const s = await openStore(dir, engine);
    expect((await s.readStream('t')).length).toBe(1);
    // The new session writes an event exactly as long as the lost one, so event 3 (older generation)
    // now directly follows it: it must not come back.
    await s.append('t', [{ type: 'e', data: { i: 9 } }]);
    expect((await s.stats()).endPosition).toBe(third);
    await s.close();
    // The new session zero-filled the chunk ahead of its append (which erases event 3), but those
    // zeroes are not synced before the append is: a crash can keep the append and lose them. Put
    // the old session's event 3 back behind it, as such a crash would leave the disk.
    expect(readBytes(chunkPath(dir), third, end - third).every((b) => b === 0)).toBe(true);
    patch(chunkPath(dir), third, staleThird);
    const again = await openStore(dir, engine);
    expect((await again.readStream('t')).map((e) => e.data)).toEqual([{ i: 0 }, { i: 9 }]);
    expect((await again.stats()).recovery).toMatchObject({ torn: true, tornReason: 'stale generation', tornPosition: third });
    expect(end).toBeGreaterThan(third);
  });

  it('seals a chunk with the right record count and checksum across reopens (the checkpoint resume)', async () => {
    const dir = tempDir();
    for (let round = 0; round < 3; round++) {
      const s = await openStore(dir, engine);
      for (let i = 0; i < 20; i++) await s.append(`r-${i % 3}`, [{ type: 'e', data: 'p'.repeat(9000) }]);
      await s.close();
    }
    const s = await openStore(dir, engine);
    for (let i = 0; i < 100; i++) await s.append('r-0', [{ type: 'e', data: 'p'.repeat(9000) }]);
    await s.close();
    const image = fs.readFileSync(chunkPath(dir, 0));
    const footer = decodeChunkFooter(image.subarray(MiB - CHUNK_FOOTER_SIZE));
    expect(footer).toBeDefined();
    const scan = scanFrames(image, CHUNK_HEADER_SIZE, footer!.dataEnd, 0);
    expect(scan.committedEnd).toBe(footer!.dataEnd);
    expect(footer).toMatchObject({ recordCount: scan.committedRecords, dataChecksum: scan.dataChecksum });
  });

  it('rolls over exactly at chunk boundaries and refuses an event larger than a chunk', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
    const capacity = MiB - CHUNK_HEADER_SIZE - CHUNK_FOOTER_SIZE;
    // A frame whose data fills the chunk to the byte: frameSize is what validation and encoding use.
    const sizeOf = (n: number) => frameSize('big', undefined, { type: 'b', id: undefined, data: new Uint8Array(n), metadata: undefined });
    let n = capacity - sizeOf(0);
    while (sizeOf(n) > capacity) n--;
    expect(sizeOf(n)).toBe(capacity);
    const exact = new Uint8Array(n).fill(7);
    const r1 = await s.append('big', [{ type: 'b', data: exact }]);
    expect(r1.position).toBe(CHUNK_HEADER_SIZE);
    const r2 = await s.append('big', [{ type: 'b', data: new Uint8Array(10) }]);
    expect(r2.position).toBe(MiB + CHUNK_HEADER_SIZE);
    await expect(s.append('big', [{ type: 'b', data: new Uint8Array(capacity) }])).rejects.toBeInstanceOf(LimitExceededError);
    const r3 = await s.append('big', [{ type: 'b', data: exact }]);
    expect(r3.position).toBe(2 * MiB + CHUNK_HEADER_SIZE);
    expect((await s.stats()).chunkCount).toBe(3);
    await s.close();
    const t = await openStore(dir, engine);
    const all = await collect(t.readAll());
    expect(all.map((e) => e.position)).toEqual([r1.position, r2.position, r3.position]);
    expect(Buffer.compare(all[0]?.data as Uint8Array, exact)).toBe(0);
    expect((await t.readStream('big', { direction: 'backward' })).map((e) => e.version)).toEqual([3, 2, 1]);
  });

  it('detects a damaged sealed chunk: bad record on read, bad footer on open', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
    const first = await s.append('a', [{ type: 'x', data: 'y'.repeat(600_000) }]);
    await s.append('a', [{ type: 'x', data: 'z'.repeat(600_000) }]);
    await s.close();
    patch(chunkPath(dir, 0), first.position + 1000, Buffer.from('Q'));
    const t = await openStore(dir, engine);
    const err = await t.readEvent('a', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as Error).message).toMatch(new RegExp(`00000000\\.chunk at offset ${first.position}`));
    expect((await t.readEvent('a', 2))?.version).toBe(2);
    await t.close();
    patch(chunkPath(dir, 0), MiB - 10, Buffer.from('QQ'));
    await expect(EventStore.open(dir, { engine, chunkSize: MiB })).rejects.toBeInstanceOf(CorruptionError);
  });

  it('locks the directory against a second writer, in this process and another', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
    await s.append('a', [{ type: 'x' }]);
    await expect(EventStore.open(dir, { engine, chunkSize: MiB })).rejects.toBeInstanceOf(StoreLockedError);
    const reader = await openStore(dir, engine, { readOnly: true });
    expect(await reader.streamVersion('a')).toBe(1);
    await expect(reader.append('a', [{ type: 'x' }])).rejects.toMatchObject({ code: 'READ_ONLY' });
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('${path.resolve('lib/index.ts')}').then(m => m.EventStore.open(${JSON.stringify(dir)}, { engine: '${engine}', chunkSize: ${MiB} })).then(() => console.log('opened'), e => console.log(e.code))`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await new Promise((r) => child.on('exit', r));
    expect(out.trim()).toBe('STORE_LOCKED');
    await s.close();
    const again = await openStore(dir, engine);
    expect(await again.streamVersion('a')).toBe(1);
  });

  it('opens stores written by the other engine, including torn tails', async () => {
    for (const other of ENGINES) {
      const { dir, end, positions } = await storeWithThree(other);
      patch(chunkPath(dir), end, readBytes(chunkPath(dir), positions[0] as number, 30));
      const s = await openStore(dir, engine);
      expect((await s.stats()).recovery.torn).toBe(true);
      await s.append('t', [{ type: 'e', data: { i: 3 } }]);
      await s.close();
      const back = await openStore(dir, other);
      expect((await back.readStream('t')).map((e) => e.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }]);
      await back.close();
    }
  });
});
