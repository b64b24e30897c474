import { describe, expect, it } from 'vitest';
import { WrongExpectedVersionError } from '../lib/index.js';
import { BYTES_PER_ENTRY, MIN_MEMORY_BUDGET } from '../lib/memory-budget.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

/** A stream id of about 1000 characters (the default limit is 1024 bytes), unique per `i`. */
const longId = (i: number) => `${'l'.repeat(990)}-${i}`;

describe.each(ENGINES)('memory budget with long ids (%s engine)', (engine) => {
  it('holds the dictionaries, memtables and metadata cache to their bytes, in fewer entries; evicted streams stay exact', async () => {
    const s = await openStore(tempDir(), engine, { memoryBudget: MIN_MEMORY_BUDGET });
    const limits = (await s.stats()).memory.parts;
    // About 7 MB of ids against a 4 MiB budget: more than every part could hold at their length.
    const n = 7000;
    const batch = 500;
    for (let b = 0; b < n; b += batch) {
      await s.appendMany(
        Array.from({ length: batch }, (_, k) => ({
          streamId: longId(b + k),
          events: [{ type: 'T', data: { i: b + k } }],
          expectedVersion: 'no_stream' as const,
        })),
      );
      for (let k = 0; k < 50; k++) await s.setStreamMetadata(longId(b + k), { maxCount: 10 });
      const m = (await s.stats()).memory.parts;
      // Within its bytes, give or take the entry that made it drop.
      expect(m.latestVersions.bytes).toBeLessThanOrEqual(m.latestVersions.budgetBytes + 1100);
      expect(m.latestVersions.entries).toBeLessThan(limits.latestVersions.limit / 2);
      expect(m.metadataCache.bytes).toBeLessThanOrEqual(m.metadataCache.budgetBytes + 1100);
      // The active memtable and at most two frozen ones, the active one past its bound by one
      // append (each event brings its id and four index entries).
      expect(m.memtables.bytes).toBeLessThanOrEqual(m.memtables.budgetBytes + batch * (1100 + 4 * BYTES_PER_ENTRY.memtables));
    }
    for (const i of [0, 1, 2345, n - 1]) {
      await expect(s.append(longId(i), [{ type: 'T' }], { expectedVersion: 'no_stream' })).rejects.toBeInstanceOf(
        WrongExpectedVersionError,
      );
      expect(await s.streamVersion(longId(i))).toBe(1);
      expect((await s.readStream(longId(i))).map((e) => e.data)).toEqual([{ i }]);
    }
    expect(await s.getStreamMetadata(longId(0))).toEqual({ maxCount: 10 });
    await s.close();
  }, 120_000);
});
