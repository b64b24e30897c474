import { describe, expect, it } from 'vitest';
import { keyOf } from '../lib/format/key-hash.js';
import { indexClock } from '../lib/index/index-clock.js';
import { KeyFilter } from '../lib/index/key-filter.js';
import { LatestVersions } from '../lib/index/latest-versions.js';
import { RecentKeys } from '../lib/index/recent-keys.js';
import { DuplicateCommandError, WrongExpectedVersionError } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

describe('KeyFilter (rolling absence filter)', () => {
  it('holds every key added since keptSince through generation turnovers, and rules out most others', () => {
    // Capacity 4096: generations of 2048 keys; 10,000 keys turn over four times.
    const f = new KeyFilter(0, 4096);
    const addedAt: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const k = keyOf(`c-${i}`);
      f.add(k.hi, k.lo, 100 + i);
      addedAt.push(100 + i);
    }
    // The newest 2048..4096 keys are held: keptSince moved past the older generation's successor's start.
    expect(f.keptSince).toBeGreaterThan(100 + 10_000 - 4096);
    expect(f.keptSince).toBeLessThanOrEqual(100 + 10_000 - 2048 + 1);
    for (let i = 0; i < 10_000; i++) {
      if ((addedAt[i] as number) < f.keptSince) continue;
      const k = keyOf(`c-${i}`);
      expect(f.mayContain(k.hi, k.lo), `c-${i}`).toBe(true);
    }
    let passed = 0;
    for (let i = 0; i < 20_000; i++) {
      const k = keyOf(`absent-${i}`);
      if (f.mayContain(k.hi, k.lo)) passed++;
    }
    expect(passed / 20_000).toBeLessThan(0.05);
    // 32-bit keys (hi 0), as LatestVersions gives them.
    const g = new KeyFilter(0, 2048);
    for (let i = 0; i < 1000; i++) g.add(0, (i * 2654435761) >>> 0, 1);
    for (let i = 0; i < 1000; i++) expect(g.mayContain(0, (i * 2654435761) >>> 0)).toBe(true);
  });

  it('drops the older generation on a retention cutoff only when all of it is older', () => {
    const f = new KeyFilter(0, 2048);
    for (let i = 0; i < 1024; i++) f.add(0, i * 7919, 10);
    f.add(0, 1, 20); // starts the second generation at 20
    expect(f.newest).toBe(2);
    // In the newest generation: no proof; only in the older: absent since just past the newest's
    // start; in neither: since keptSince.
    expect(f.absentSince(0, 1)).toBe(Number.POSITIVE_INFINITY);
    expect(f.absentSince(0, 5 * 7919)).toBeGreaterThan(20);
    expect(f.absentSince(0, 5 * 7919)).toBeLessThan(20.001);
    expect(f.absentSince(0, 123_456_789)).toBe(0);
    f.evictBefore(20);
    expect(f.keptSince).toBe(0);
    f.evictBefore(21);
    expect(f.keptSince).toBeGreaterThan(20);
    expect(f.mayContain(0, 1)).toBe(true);
  });
});

describe('absentSince of the bounded dictionaries', () => {
  it('RecentKeys: a key the filter rules out is absent since the filter’s keptSince, any other since the set’s', () => {
    const r = new RecentKeys(0, 100);
    expect(r.absentSince(keyOf('never'))).toBe(0);
    for (let i = 0; i < 1000; i++) r.add(keyOf(`c-${i}`), 1000 + i, 64 + i);
    expect(r.size).toBe(100);
    expect(r.keptSince).toBeGreaterThan(1000);
    // Dropped from the set but in the filter: only the set's keptSince is proven.
    expect(r.absentSince(keyOf('c-0'))).toBe(r.keptSince);
    let older = 0;
    for (let i = 0; i < 200; i++) if (r.absentSince(keyOf(`never-${i}`)) === 0) older++;
    expect(older).toBeGreaterThan(190);
  });

  it('RecentKeys: a key added again in a later bucket is not claimed absent over that time once dropped', () => {
    // Regression: a held key added again (another id with the same 48-bit key) kept its ring slot in
    // its first bucket, so dropping that bucket moved keptSince past it but not past the second add.
    const r = new RecentKeys(0, 4);
    r.add(keyOf('a'), 0, 64);
    r.add(keyOf('a'), 5000, 65);
    for (let i = 0; i < 4; i++) r.add(keyOf(`b-${i}`), 6000 + i, 66 + i);
    expect(r.get(keyOf('a'))).toBe(0);
    expect(r.absentSince(keyOf('a'))).toBeGreaterThan(5000);
  });

  it('LatestVersions: streams set again while held stay covered after their generation is dropped', () => {
    const d = new LatestVersions(0, 64);
    // 64 * 24 filter keys: generations of 1024 (the minimum).
    d.set('kept', 1, 64, 1);
    for (let i = 0; i < 1500; i++) {
      d.set(`s-${i}`, 1, 100 + i, 2 + i);
      // 'kept' is written again every so often and so stays in the dictionary.
      if (i % 20 === 0) d.set('kept', 2 + i, 100_000 + i, 2 + i);
    }
    for (let i = 1500; i < 4000; i++) {
      d.set(`s-${i}`, 1, 100 + i, 2 + i);
      if (i % 20 === 0) d.set('kept', 2 + i, 100_000 + i, 2 + i);
    }
    expect(d.size).toBeLessThanOrEqual(64);
    expect(d.get('kept')).toBeDefined();
    // Streams set since the filter's keptSince: never ruled out.
    for (let i = 0; i < 4000; i++) {
      if (d.get(`s-${i}`) !== undefined) continue;
      const since = d.absentSince(`s-${i}`);
      if (2 + i >= since) expect(since, `s-${i}`).toBe(d.keptSince);
    }
    let older = 0;
    for (let i = 0; i < 200; i++) if (d.absentSince(`never-${i}`) < d.keptSince) older++;
    expect(older).toBeGreaterThan(190);
    // 'kept' was last written at 4002, after the filter's keptSince, and entered the filter only
    // when it was first set: once the dictionary drops it, the filter must still cover it.
    for (let i = 0; i < 100; i++) d.set(`late-${i}`, 1, 200_000 + i, 5000 + i);
    expect(d.get('kept')).toBeUndefined();
    expect(d.absentSince('kept')).toBe(d.keptSince);
  });
});

describe('absentSince against an oracle', () => {
  it.each([1, 2])('never claims a key absent over a time it was added: re-adds, equal times, clock jumps, evictions (seed %i)', (seed) => {
    let x = seed;
    const r = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 4294967296;
    };
    let now = 0;
    const real = indexClock.now;
    indexClock.now = () => now; // the filters start at indexClock.now(): one clock for all
    try {
      const limit = 8 + Math.floor(r() * 50);
      const rk = new RecentKeys(0, limit);
      const lv = new LatestVersions(0, limit);
      const lastAdd = new Map<string, number>();
      let universe = 50;
      for (let step = 0; step < 8000; step++) {
        const y = r();
        if (y < 0.05) now += Math.floor(r() * 3000);
        else if (y < 0.3) now += r() < 0.5 ? 0 : 1;
        if (y > 0.995) {
          const cutoff = now - Math.floor(r() * 5000);
          rk.evictBefore(cutoff);
          lv.evictBefore(cutoff);
          continue;
        }
        if (r() < 0.3) universe++;
        const id = `k-${Math.floor(r() * universe)}`;
        rk.add(keyOf(id), now, 64 + step);
        lv.set(id, step, 64 + step, now);
        lastAdd.set(id, now);
        if (step % 499 !== 0) continue;
        for (const [k, t] of lastAdd) {
          if (rk.get(keyOf(k)) === 0) expect(rk.absentSince(keyOf(k)), `RecentKeys ${k} at ${step}`).toBeGreaterThan(t);
          if (lv.get(k) === undefined) expect(lv.absentSince(k), `LatestVersions ${k} at ${step}`).toBeGreaterThan(t);
        }
      }
    } finally {
      indexClock.now = real;
    }
  });
});

describe.each(ENGINES)('absence filters in a store (%s engine)', (engine) => {
  it('keep expected versions and command de-duplication exact for streams and commands the filters dropped', async () => {
    // Dictionaries of 64 entries: filters of two 1024-key generations, turned over several times;
    // small memtables, so that segments start after the filters' keptSince and are skipped for a
    // key the filter rules out.
    const s = await openStore(tempDir(), engine, { maxRecentStreams: 64, maxRecentCommands: 64, indexMemtableEntries: 400 });
    const n = 5000;
    for (let b = 0; b < n; b += 500) {
      await s.appendMany(
        Array.from({ length: 500 }, (_, k) => ({
          streamId: `s-${b + k}`,
          events: [{ type: 'T', data: { i: b + k } }],
          expectedVersion: 'no_stream' as const,
          commandId: `c-${b + k}`,
        })),
      );
    }
    for (const i of [0, 1, 1500, 3000, 4000, 4500, 4900, n - 100]) {
      await expect(s.append(`s-${i}`, [{ type: 'T' }], { expectedVersion: 'no_stream' })).rejects.toBeInstanceOf(WrongExpectedVersionError);
      await expect(s.append('other', [{ type: 'T' }], { commandId: `c-${i}` })).rejects.toBeInstanceOf(DuplicateCommandError);
      expect((await s.readCommand(`c-${i}`))?.map((e) => e.data)).toEqual([{ i }]);
      expect(await s.streamVersion(`s-${i}`)).toBe(1);
    }
    // New ones are new.
    for (let i = 0; i < 50; i++) {
      expect(await s.readCommand(`new-${i}`)).toBeUndefined();
      expect(await s.streamVersion(`new-${i}`)).toBe(0);
      await s.append(`new-${i}`, [{ type: 'T' }], { expectedVersion: 'no_stream', commandId: `new-${i}` });
    }
    await expect(s.append('other', [{ type: 'T' }], { commandId: 'new-0' })).rejects.toBeInstanceOf(DuplicateCommandError);
    await s.close();
  }, 60_000);
});
