import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SEGMENT_KIND_STREAM } from '../lib/format/index-layout.js';
import { keyOf } from '../lib/format/key-hash.js';
import { JsSegmentBackend } from '../lib/index/js-segments.js';
import { ReadCacheBudget } from '../lib/index/read-cache.js';
import type { SegmentSpec } from '../lib/index/segment-backend.js';
import { DuplicateCommandError, type EventStore, InvalidArgumentError, WrongExpectedVersionError } from '../lib/index.js';
import { BYTES_PER_ENTRY, DEFAULT_MEMORY_BUDGET, MIN_MEMORY_BUDGET, planMemory } from '../lib/memory-budget.js';
import { ENGINES, MiB, openStore, tempDir } from './helpers.js';

async function settle(s: EventStore): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
  await (s as any).index.idle();
}

describe('memory budget split', () => {
  it('splits the default budget among every part, each within its share', () => {
    const plan = planMemory(undefined, {});
    expect(plan.budget).toBe(DEFAULT_MEMORY_BUDGET);
    const total = Object.values(plan.parts).reduce((n, p) => n + p.bytes, 0);
    expect(total).toBeLessThanOrEqual(plan.budget);
    for (const [name, p] of Object.entries(plan.parts)) if (name !== 'readCaches') expect(p.limit).toBeGreaterThan(0);
  });

  it('gives explicit options what they ask and the rest to the others', () => {
    const plan = planMemory(16 * MiB, { latestVersions: 50_000 });
    expect(plan.parts.latestVersions).toEqual({ limit: 50_000, bytes: 50_000 * BYTES_PER_ENTRY.latestVersions });
    const total = Object.values(plan.parts).reduce((n, p) => n + p.bytes, 0);
    expect(total).toBeLessThanOrEqual(16 * MiB);
    // A larger budget never gives a part fewer entries.
    const big = planMemory(256 * MiB, {});
    const small = planMemory(MIN_MEMORY_BUDGET, {});
    for (const k of Object.keys(big.parts) as (keyof typeof big.parts)[]) {
      expect(big.parts[k].limit).toBeGreaterThanOrEqual(small.parts[k].limit);
    }
  });

  it('gives the read caches a share only where index files are read into memory (the JS engine)', () => {
    expect(planMemory(undefined, {}).parts.readCaches).toEqual({ limit: 0, bytes: 0 });
    const js = planMemory(undefined, {}, true);
    expect(js.parts.readCaches.limit).toBe(js.parts.readCaches.bytes);
    expect(js.parts.readCaches.bytes).toBeGreaterThan(DEFAULT_MEMORY_BUDGET / 20);
    expect(Object.values(js.parts).reduce((n, p) => n + p.bytes, 0)).toBeLessThanOrEqual(js.budget);
    // The native engine's plan gives the other parts what the JS engine's caches take.
    expect(planMemory(undefined, {}).parts.memtables.limit).toBeGreaterThan(js.parts.memtables.limit);
  });

  it('refuses bad budgets and explicit options that exceed the budget', () => {
    for (const bad of [0, -1, 1.5, MIN_MEMORY_BUDGET - 1, '64MiB', null, Number.NaN, 2 ** 41]) {
      expect(() => planMemory(bad, {}), String(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => planMemory(4 * MiB, { latestVersions: 1_000_000 })).toThrow(/maxRecentStreams 1000000 .* memoryBudget 4194304/);
    expect(() => planMemory(4 * MiB, { recentCommands: 50_000, memtables: 100_000 })).toThrow(
      /maxRecentCommands 50000 .* and indexMemtableEntries 100000/,
    );
  });
});

describe.each(ENGINES)('memory budget (%s engine)', (engine) => {
  it('refuses a bad memoryBudget at open, and an option beyond it, with INVALID_ARGUMENT', async () => {
    const dir = tempDir();
    for (const memoryBudget of [1024, 2.5, '1', -MiB]) {
      await expect(openStore(dir, engine, { memoryBudget: memoryBudget as number })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('memoryBudget must be an integer'),
      });
    }
    await expect(openStore(dir, engine, { memoryBudget: 8 * MiB, indexMemtableEntries: 1_000_000 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('indexMemtableEntries 1000000'),
    });
    // Refused at open: the store is unchanged and opens with good options.
    const s = await openStore(dir, engine, { memoryBudget: 8 * MiB });
    expect((await s.stats()).memory.budget).toBe(8 * MiB);
    await s.close();
  });

  it('holds a read-only follower to its own budget', async () => {
    const dir = tempDir();
    const w = await openStore(dir, engine);
    const budget = MIN_MEMORY_BUDGET;
    const f = await openStore(dir, engine, { readOnly: true, followIntervalMs: 5, memoryBudget: budget });
    const { parts } = (await f.stats()).memory;
    const n = parts.latestVersions.limit + 500;
    for (let b = 0; b < n; b += 1000) {
      await w.appendMany(Array.from({ length: Math.min(1000, n - b) }, (_, k) => ({ streamId: `f-${b + k}`, events: [{ type: 'T' }] })));
    }
    await expect.poll(async () => (await f.stats()).endPosition, { timeout: 20_000 }).toBe((await w.stats()).endPosition);
    const m = (await f.stats()).memory;
    expect(m.budget).toBe(budget);
    expect(m.parts.latestVersions.entries).toBeLessThanOrEqual(m.parts.latestVersions.limit);
    expect(await f.streamVersion('f-0')).toBe(1);
    await f.close();
    await w.close();
  }, 60_000);

  it('reports each part against its share of the budget', async () => {
    const s = await openStore(tempDir(), engine);
    await s.append('a-1', [{ type: 'T' }], { commandId: 'c-1' });
    const { memory } = await s.stats();
    expect(memory.budget).toBe(DEFAULT_MEMORY_BUDGET);
    const parts = Object.values(memory.parts);
    expect(parts.reduce((n, p) => n + p.budgetBytes, 0)).toBeLessThanOrEqual(memory.budget);
    expect(parts.reduce((n, p) => n + p.share, 0)).toBeLessThanOrEqual(1);
    expect(memory.parts.latestVersions).toMatchObject({ entries: 1, bytes: BYTES_PER_ENTRY.latestVersions });
    expect(memory.parts.recentCommands.entries).toBe(1);
    expect(memory.parts.memtables.entries).toBeGreaterThan(0);
    expect(memory.bytes).toBe(parts.reduce((n, p) => n + p.bytes, 0));
    await s.close();
  });

  it('holds the dictionaries to their limits under many new streams and commands; evicted ones stay exact', async () => {
    const s = await openStore(tempDir(), engine, { memoryBudget: MIN_MEMORY_BUDGET });
    const { parts } = (await s.stats()).memory;
    // More streams and command ids than the smallest budget's dictionaries hold.
    const n = Math.max(parts.latestVersions.limit, parts.recentCommands.limit) + 2000;
    expect(n).toBeLessThan(60_000);
    for (let b = 0; b < n; b += 1000) {
      await s.appendMany(
        Array.from({ length: Math.min(1000, n - b) }, (_, k) => ({
          streamId: `s-${b + k}`,
          events: [{ type: 'T', data: { i: b + k } }],
          expectedVersion: 'no_stream' as const,
          commandId: `c-${b + k}`,
        })),
      );
      const m = (await s.stats()).memory.parts;
      expect(m.latestVersions.entries).toBeLessThanOrEqual(m.latestVersions.limit);
      expect(m.recentCommands.entries).toBeLessThanOrEqual(m.recentCommands.limit);
      // The active memtable and at most two frozen ones, the active one past its limit by one append.
      expect(m.memtables.entries).toBeLessThanOrEqual(3 * m.memtables.limit + 1000 * 4);
      expect(m.memtables.bytes).toBeLessThanOrEqual(m.memtables.budgetBytes + 1000 * 4 * BYTES_PER_ENTRY.memtables);
    }
    await settle(s);
    const after = (await s.stats()).memory;
    expect(after.parts.latestVersions.entries).toBeLessThanOrEqual(after.parts.latestVersions.limit);
    expect(after.parts.recentCommands.entries).toBeLessThanOrEqual(after.parts.recentCommands.limit);
    expect(after.bytes).toBeLessThanOrEqual(after.budget);
    // The first streams and commands were evicted long ago: still exact, from the disk index.
    for (const i of [0, 1, 777, Math.floor(n / 2)]) {
      await expect(s.append(`s-${i}`, [{ type: 'T' }], { expectedVersion: 'no_stream' })).rejects.toBeInstanceOf(WrongExpectedVersionError);
      await expect(s.append('other', [{ type: 'T' }], { commandId: `c-${i}` })).rejects.toBeInstanceOf(DuplicateCommandError);
      expect((await s.readCommand(`c-${i}`))?.map((e) => e.data)).toEqual([{ i }]);
      expect(await s.streamVersion(`s-${i}`)).toBe(1);
      await s.append(`s-${i}`, [{ type: 'T' }], { expectedVersion: 1 });
    }
    expect(await s.readCommand(`c-${n}`)).toBeUndefined();
    // Those lookups probed the segments' Bloom filters: the native engine reads them from the
    // files' mappings; the JS engine keeps them, and index pages, within its readCaches part.
    const { index, memory } = await s.stats();
    if (engine === 'native') {
      expect(index.segmentHeapBytes).toBe(0);
      expect(memory.parts.readCaches).toMatchObject({ entries: 0, limit: 0, budgetBytes: 0 });
    } else {
      expect(index.segmentHeapBytes).toBeGreaterThan(0);
      expect(memory.parts.readCaches.entries).toBeGreaterThanOrEqual(index.segmentHeapBytes);
      expect(memory.parts.readCaches.entries).toBeLessThanOrEqual(memory.parts.readCaches.limit);
    }
    expect(memory.bytes).toBeLessThanOrEqual(memory.budget);
    await s.close();
  }, 120_000);
});

describe('the JS engine’s read caches', () => {
  it('keep filters and pages only while the budget grants them; lookups stay exact past it', async () => {
    const dir = tempDir();
    const n = 20_000;
    const keys = Array.from({ length: n }, (_, i) => keyOf(`s-${i}`));
    const arrays = {
      hi: Uint32Array.from(keys, (k) => k.hi),
      lo: Uint32Array.from(keys, (k) => k.lo),
      seq: new Uint32Array(n).fill(1),
      position: Float64Array.from(keys, (_, i) => 64 + i * 100),
    };
    const spec: SegmentSpec = { kind: SEGMENT_KIND_STREAM, fromPosition: 64, toPosition: 9_999_999 };
    await new JsSegmentBackend().build(dir, 'a.seg', spec, arrays);
    for (const limit of [0, 1000, Number.POSITIVE_INFINITY]) {
      const cache = new ReadCacheBudget(limit);
      const seg = new JsSegmentBackend(cache).open(path.join(dir, 'a.seg'));
      for (let i = 0; i < n; i += 333) {
        const k = keys[i] as { hi: number; lo: number };
        expect(seg.mayContain(k.hi, k.lo)).toBe(true);
        expect(seg.findLast(k.hi, k.lo)).toEqual([1, 64 + i * 100]);
        expect(cache.bytes).toBeLessThanOrEqual(limit);
      }
      expect(seg.findLast(keyOf('absent').hi, keyOf('absent').lo)).toBeUndefined();
      expect(cache.bytes).toBe(seg.heapBytes());
      if (limit === 0) expect(cache.bytes).toBe(0);
      if (limit === Number.POSITIVE_INFINITY) expect(cache.bytes).toBeGreaterThan(seg.header.bloomBytes);
      seg.close();
      expect(cache.bytes).toBe(0);
    }
  });
});

describe.each(ENGINES)('segment merges by tiers (%s engine)', (engine) => {
  it('keep few segments however small the memtables, and every version and command is still found', async () => {
    const dir = tempDir();
    // A memtable of 400 index entries: a build every 100 events, 60 builds.
    const s = await openStore(dir, engine, { indexMemtableEntries: 400 });
    const events = 6000;
    for (let b = 0; b < events; b += 100) {
      await s.appendMany(
        Array.from({ length: 100 }, (_, k) => ({
          streamId: `t-${(b + k) % 50}`,
          events: [{ type: 'T', data: { i: b + k } }],
          commandId: `k-${b + k}`,
        })),
      );
    }
    await settle(s);
    const { index } = await s.stats();
    expect(index.segmentBuilds).toBeGreaterThanOrEqual(50);
    expect(index.segmentMerges).toBeGreaterThan(0);
    // A few per tier of four (1, 4, 16 builds…), far below maxIndexSegments (16).
    expect(index.streamSegments).toBeLessThanOrEqual(8);
    expect(index.commandSegments).toBeLessThanOrEqual(8);
    for (const i of [0, 1, 2999, 5999]) {
      expect((await s.readEvent(`t-${i % 50}`, Math.floor(i / 50) + 1))?.data).toEqual({ i });
      expect((await s.readCommand(`k-${i}`))?.map((e) => e.data)).toEqual([{ i }]);
    }
    expect(await s.readCommand('k-absent')).toBeUndefined();
    await s.close();
    // maxIndexSegments given explicitly: only it merges, the oldest segments past it.
    const x = await openStore(tempDir(), engine, { indexMemtableEntries: 400, maxIndexSegments: 40 });
    for (let b = 0; b < 3000; b += 100) {
      await x.appendMany(Array.from({ length: 100 }, (_, k) => ({ streamId: `u-${k}`, events: [{ type: 'T' }] })));
    }
    await settle(x);
    expect((await x.stats()).index).toMatchObject({ segmentMerges: 0 });
    expect((await x.stats()).index.streamSegments).toBeGreaterThan(10);
    await x.close();
  }, 60_000);
});
