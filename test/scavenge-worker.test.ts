import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventStore, RecordedEvent } from '../lib/index.js';
import { scavengeWorker } from '../lib/scavenge-runner.js';
import { verifyStore } from '../lib/verify.js';
import { chunkPath, collect, ENGINES, openStore, tempDir } from './helpers.js';

/** Small chunks and memtables, so a few hundred events fill several sealed chunks. */
const OPTIONS = { indexMemtableEntries: 200, maxIndexSegments: 4 };
const PAD = 'x'.repeat(2000);

async function fill(s: EventStore, prefix: string, streams: number, count: number): Promise<void> {
  for (let i = 0; i < count; i += 50) {
    await s.appendMany(
      Array.from({ length: 50 }, (_, k) => ({
        streamId: `${prefix}-${(i + k) % streams}`,
        events: [{ type: 'Filled', data: { i: i + k, pad: PAD } }],
      })),
    );
  }
}

const keyOf = (e: RecordedEvent) => `${e.streamId}@${e.version}:${e.position}`;

afterEach(() => {
  scavengeWorker.inThread = undefined;
});

describe.each(ENGINES)('scavenge passes (%s engine)', (engine) => {
  it('on the event loop, where no worker can start, they do what the worker does', async () => {
    const results: string[][] = [];
    for (const inThread of [false, true]) {
      scavengeWorker.inThread = inThread;
      const dir = tempDir();
      const s = await openStore(dir, engine, OPTIONS);
      await fill(s, 'w', 3, 1500);
      await s.deleteStream('w-1');
      await s.setStreamMetadata('w-2', { maxCount: 100 });
      const report = await s.scavenge();
      expect(report.chunksRewritten).toBeGreaterThan(1);
      results.push((await collect(s.readAll())).map(keyOf));
      await s.close();
      expect(verifyStore(dir).faults).toEqual([]);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]?.some((k) => k.startsWith('w-1@'))).toBe(false);
    expect(results[0]?.filter((k) => k.startsWith('w-2@')).length).toBe(100);
  });

  it('maxBytesPerSecond caps the bytes read per second; bad values get INVALID_ARGUMENT', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, OPTIONS);
    await fill(s, 'r', 2, 1200);
    await s.deleteStream('r-0');
    const scavenge = s.scavenge.bind(s) as (o: unknown) => Promise<unknown>;
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5', null]) {
      await expect(scavenge({ maxBytesPerSecond: bad })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect((await s.stats()).reclaimableBytes).toBeGreaterThan(0);
    const rate = 4 << 20;
    const report = await s.scavenge({ maxBytesPerSecond: rate });
    expect(report.chunksRewritten).toBeGreaterThan(0);
    // The pass reads a block, then waits until the bytes read so far are due: at least this long.
    expect(report.durationMs).toBeGreaterThanOrEqual(((report.bytesBefore - (1 << 20)) / rate) * 1000);
  });

  it('a damaged body of a kept frame is copied as it is, and found after; a damaged length leaves the chunk', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, OPTIONS);
    await fill(s, 'd', 2, 1200);
    const kept = (await s.readStream('d-1', { fromVersion: 3, limit: 1 }))[0] as RecordedEvent;
    await s.deleteStream('d-0');
    await s.close();
    // Chunk 0 starts at position 0: a position below the chunk size is the frame's offset in it.
    expect(kept.position).toBeLessThan(1 << 20);
    const file = chunkPath(dir, 0);
    const bytes = fs.readFileSync(file);
    // A flipped byte in the kept event's payload (its frame's last bytes).
    const keptEnd = kept.position + bytes.readUInt32LE(kept.position);
    bytes[keptEnd - 3] = (bytes[keptEnd - 3] as number) ^ 0x40;
    fs.writeFileSync(file, bytes);
    s = await openStore(dir, engine, OPTIONS);
    const report = await s.scavenge();
    expect(report.chunksRewritten).toBeGreaterThan(0);
    await s.close();
    // verify names the damaged record, and only it (the lengths walked match the footer's checksum).
    expect(verifyStore(dir).faults.map((f) => f.problem)).toEqual(['damaged record (scavenged chunk)']);
    s = await openStore(dir, engine, OPTIONS);
    await expect(s.readEvent('d-1', kept.version)).rejects.toMatchObject({ code: 'CORRUPTION' });
    await s.close();

    // A damaged frame length in a chunk not yet scavenged: the chunk is left as it is.
    const dir2 = tempDir();
    s = await openStore(dir2, engine, OPTIONS);
    await fill(s, 'e', 2, 1200);
    const removed = (await s.readStream('e-0', { fromVersion: 3, limit: 1 }))[0] as RecordedEvent;
    await s.deleteStream('e-0');
    await s.close();
    const file2 = chunkPath(dir2, 0);
    const b2 = fs.readFileSync(file2);
    const at = removed.position;
    b2.writeUInt32LE(b2.readUInt32LE(at) + 8, at);
    fs.writeFileSync(file2, b2);
    s = await openStore(dir2, engine, OPTIONS);
    const r2 = await s.scavenge();
    expect(r2.chunksSkipped).toBe(1);
    await s.close();
    expect(fs.readFileSync(file2).equals(b2)).toBe(true);
  });
});

/** This process's descriptors and mappings of files under `dir` that were deleted (Linux). */
function deletedHeld(dir: string): string[] {
  const fds = fs.readdirSync('/proc/self/fd').map((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '';
    }
  });
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n');
  return [...fds, ...maps].filter((l) => l.includes(dir) && l.includes('(deleted)'));
}

describe.each(ENGINES)('space of swapped chunks (%s engine)', (engine) => {
  it.runIf(process.platform === 'linux')(
    'is let go at the swap, not at close: no descriptor or mapping of a replaced chunk file is left',
    async () => {
      const dir = tempDir();
      const s = await openStore(dir, engine, OPTIONS);
      await fill(s, 'f', 2, 1500);
      // Reads first, so the engine holds the sealed chunks open.
      expect((await collect(s.readAll())).length).toBe(1500);
      await s.deleteStream('f-0');
      expect((await s.scavenge()).chunksRewritten).toBeGreaterThan(1);
      expect(deletedHeld(dir)).toEqual([]);
      expect((await collect(s.readAll())).length).toBe(750);
      await s.close();
    },
  );
});
