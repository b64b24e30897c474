import { describe, expect, it } from 'vitest';
import type { EventStore } from '../lib/index.js';
import { BYTES_PER_ENTRY, MIN_MEMORY_BUDGET } from '../lib/memory-budget.js';
import type { StreamMetadataRegistry } from '../lib/stream-metadata.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

const registry = (s: EventStore) => (s as unknown as { s: { metadata: StreamMetadataRegistry } }).s.metadata;
const OPTIONS = { memoryBudget: MIN_MEMORY_BUDGET, durability: 'sync' as const };

describe.each(ENGINES)('the keys of streams with metadata (%s engine)', (engine) => {
  it('are held within the metadata cache bytes; past them reads, rules and a scavenge stay exact', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, OPTIONS);
    const { limit } = (await s.stats()).memory.parts.metadataCache;
    // More streams with rules than their keys (40 bytes each) fit in the metadata cache's bytes.
    const n = Math.ceil((limit * BYTES_PER_ENTRY.metadataCache) / 40) + 500;
    for (let b = 0; b < n; b += 500)
      await s.appendMany(
        Array.from({ length: Math.min(500, n - b) }, (_, k) => ({ streamId: `m-${b + k}`, events: [{ type: 'Old' }, { type: 'New' }] })),
      );
    await Promise.all(Array.from({ length: n }, (_, i) => s.setStreamMetadata(`m-${i}`, { maxCount: 1 })));
    await s.append('plain', [{ type: 'A' }, { type: 'B' }]);
    const check = async (t: EventStore) => {
      expect(registry(t).keyCount).toBeLessThanOrEqual((limit * BYTES_PER_ENTRY.metadataCache) / 40);
      for (const i of [0, 1, 777, n - 1]) {
        expect((await t.readStream(`m-${i}`)).map((e) => e.type)).toEqual(['New']);
        expect(await t.getStreamMetadata(`m-${i}`)).toEqual({ maxCount: 1 });
      }
      expect((await t.readStream('plain')).map((e) => e.type)).toEqual(['A', 'B']);
      expect(await t.getStreamMetadata('plain')).toEqual({});
    };
    await check(s);
    await s.close();
    s = await openStore(dir, engine, OPTIONS);
    await check(s);
    // A scavenge lists the meta streams for its rule keys: every old event in a sealed chunk goes.
    for (let i = 0; i < 400; i++) await s.append(`pad-${i % 3}`, [{ type: 'Pad', data: { pad: 'x'.repeat(2000) } }]);
    expect((await s.scavenge()).eventsRemoved).toBeGreaterThan(n / 2);
    await check(s);
    expect((await s.append('m-0', [{ type: 'Newer' }], { expectedVersion: 2 })).firstVersion).toBe(3);
  }, 120_000);
});
