import { describe, expect, it } from 'vitest';
import { SEGMENT_KIND_CATEGORY, SEGMENT_KIND_TYPE } from '../lib/format/index-layout.js';
import { Memtable } from '../lib/index/memtable.js';
import { NEW_KEY_BYTES } from '../lib/index/position-lists.js';
import { BYTES_PER_ENTRY, MIN_MEMORY_BUDGET } from '../lib/memory-budget.js';
import { collect, ENGINES, openStore, tempDir } from './helpers.js';

describe('memtables count the lists of new category and type names', () => {
  it('weighs a key of its own per entry at NEW_KEY_BYTES more than a key shared by many', () => {
    const many = new Memtable(64);
    const one = new Memtable(64);
    for (let i = 0; i < 1000; i++) {
      many.addView(SEGMENT_KIND_TYPE, { hi: i & 0xffff, lo: i * 7919 }, 64 + i * 100);
      one.addView(SEGMENT_KIND_CATEGORY, { hi: 1, lo: 2 }, 64 + i * 100);
    }
    expect(one.weight).toBeCloseTo(1000 + NEW_KEY_BYTES / BYTES_PER_ENTRY.memtables);
    expect(many.weight).toBeCloseTo(1000 * (1 + NEW_KEY_BYTES / BYTES_PER_ENTRY.memtables));
  });
});

describe.each(ENGINES)('memory budget with a type and a category per event (%s engine)', (engine) => {
  it('holds the memtables to their bytes, in fewer entries; reads by type and category stay exact', async () => {
    const s = await openStore(tempDir(), engine, { memoryBudget: MIN_MEMORY_BUDGET });
    const limit = (await s.stats()).memory.parts.memtables.limit;
    const name = (i: number) => `n${i}${'x'.repeat(40)}`;
    const n = 12_000;
    const batch = 500;
    let most = 0;
    for (let b = 0; b < n; b += batch) {
      await s.appendMany(
        Array.from({ length: batch }, (_, k) => ({ streamId: `${name(b + k)}-1`, events: [{ type: name(b + k), data: { i: b + k } }] })),
      );
      const m = (await s.stats()).memory.parts.memtables;
      most = Math.max(most, m.entries);
      // The memtables within their bytes, the active one past its bound by one append at most.
      expect(m.bytes).toBeLessThanOrEqual(m.budgetBytes + batch * (3 * BYTES_PER_ENTRY.memtables + 2 * NEW_KEY_BYTES));
    }
    // Each event brings three entries and two names of its own: a memtable freezes at about a
    // third of the entries it holds when names are shared.
    expect(most).toBeLessThan(limit);
    for (const i of [0, 1, 4567, n - 1]) {
      expect((await collect(s.readByType(name(i)))).map((e) => e.data)).toEqual([{ i }]);
      expect((await collect(s.readCategory(name(i)))).map((e) => e.streamId)).toEqual([`${name(i)}-1`]);
    }
    await s.close();
  }, 120_000);
});
