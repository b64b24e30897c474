/** stats()' activity counters and disk use per chunk: what the Stream Browser's stats page charts. */
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../lib/index.js';
import { ActivitySampler } from '../lib/server/http-stats.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

async function settle(s: EventStore): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
  await (s as any).index.idle();
}

describe.each(ENGINES)('stats activity (%s engine)', (engine) => {
  it('counts flush time, segment builds and merges, and lists each chunk file with its bytes on disk', async () => {
    const s = await openStore(tempDir(), engine, { indexMemtableEntries: 50, maxIndexSegments: 4 });
    const before = await s.stats();
    expect(before).toMatchObject({ flushes: 0, flushTimeMs: 0, index: { segmentBuilds: 0, segmentMerges: 0 } });
    // ~3 MB: three 1 MiB chunks at least.
    const pad = 'x'.repeat(1000);
    for (let i = 0; i < 30; i++)
      await s.append(
        `s-${i % 5}`,
        Array.from({ length: 100 }, (_, k) => ({ type: 'T', data: { pad, k } })),
      );
    await settle(s);
    const after = await s.stats();
    expect(after.flushes).toBeGreaterThan(0);
    expect(after.flushTimeMs).toBeGreaterThan(0);
    expect(after.index.segmentBuilds).toBeGreaterThan(0);
    expect(after.index.segmentMerges).toBeGreaterThan(0);
    expect(after.chunks.length).toBe(after.chunkCount);
    expect(after.chunks.length).toBeGreaterThan(1);
    expect(after.chunks.map((c) => c.file)).toEqual([...after.chunks.map((c) => c.file)].sort());
    for (const c of after.chunks) expect(c).toEqual({ file: expect.stringMatching(/^\d+\.chunk$/), bytesOnDisk: expect.any(Number) });
    expect(after.chunks.reduce((a, c) => a + c.bytesOnDisk, 0)).toBeLessThanOrEqual(after.bytesOnDisk);
  });

  it('the server samples them into rates over a bounded ring', async () => {
    const s = await openStore(tempDir(), engine);
    const sampler = new ActivitySampler(s, 3);
    await sampler.sample();
    for (let round = 0; round < 4; round++) {
      await s.append('a', [{ type: 'T' }, { type: 'T' }]);
      await new Promise((r) => setTimeout(r, 20));
      await sampler.sample();
    }
    const points = sampler.points();
    expect(points).toHaveLength(2); // 3 samples kept: 2 intervals
    for (const p of points) {
      expect(p.appendsPerSec).toBeGreaterThan(0);
      expect(p.flushMs === null || p.flushMs >= 0).toBe(true);
    }
    await s.close();
    await sampler.sample(); // a closed store adds no point, and throws nothing
    expect(sampler.points()).toHaveLength(2);
  });
});
