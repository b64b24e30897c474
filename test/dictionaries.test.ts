import { describe, expect, it } from 'vitest';
import { keyOf, keyOfBytes } from '../lib/format/key-hash.js';
import { CommandTable } from '../lib/index/command-table.js';
import { indexClock } from '../lib/index/index-clock.js';
import { KeyTable } from '../lib/index/key-table.js';
import { LatestVersions } from '../lib/index/latest-versions.js';
import { RecentKeys, SEEN_AGAIN } from '../lib/index/recent-keys.js';

describe('keyOf (index keys, stored in segments)', () => {
  it('gives the keys existing segments hold: pinned values, ASCII fast path equal to the UTF-8 bytes path', () => {
    // Segment files store these keys: a change here would make every existing index miss. (48-bit
    // keys since segment format 3: the hi hash keeps its low 16 bits.)
    const pinned: [string, number, number][] = [
      ['', 3954623016, 1960076931],
      ['a', 2141232806, 3829575984],
      ['abc', 3360318173, 3598736535],
      ['order-42', 1614962711, 2406061266],
      ['cmd-123456', 3350451051, 1783616263],
      ['заказ-7', 326509293, 1440316179],
    ];
    for (const [s, hi, lo] of pinned) expect(keyOf(s)).toEqual({ hi: hi & 0xffff, lo });
    const ids = ['ordre-é', '订单-1', 'x\ud800y', 'abcd\u0080', 'x'.repeat(2000), 'é'.repeat(1500)];
    for (let i = 0; i < 2000; i++) ids.push(`k-${i}-${(i * 7919).toString(36)}`.slice(0, i % 40));
    for (const s of ids) expect(keyOf(s)).toEqual(keyOfBytes(Buffer.from(s, 'utf8')));
  });
});

describe('RecentKeys (hashed recent-command set)', () => {
  it('answers like a map through growth, eviction in insertion order and shrinking', () => {
    const r = new RecentKeys();
    const t0 = 1_000_000;
    // 50 seconds of insertions, 2,000 keys per second.
    for (let s = 0; s < 50; s++) for (let k = 0; k < 2000; k++) r.add(keyOf(`cmd-${s}-${k}`), t0 + s * 1000 + k / 10, 64 + s * 2000 + k);
    expect(r.size).toBe(100_000);
    expect(r.get(keyOf('cmd-0-1'))).toBe(65);
    r.add(keyOf('cmd-0-0'), t0 + 60_000, 999); // already there: not added twice, marked seen again
    expect(r.size).toBe(100_000);
    expect(r.get(keyOf('cmd-0-0'))).toBe(SEEN_AGAIN);
    for (let s = 0; s < 50; s += 7) expect(r.get(keyOf(`cmd-${s}-${s * 13}`)) !== 0).toBe(true);
    expect(r.get(keyOf('never-added')) !== 0).toBe(false);

    r.evictBefore(t0 + 30_000); // drops seconds 0..29
    expect(r.size).toBe(40_000);
    for (let s = 0; s < 50; s++) {
      for (let k = 0; k < 2000; k += 97) expect(r.get(keyOf(`cmd-${s}-${k}`)) !== 0).toBe(s >= 30);
    }
    r.evictBefore(t0 + 49_000); // shrinks the table; the rest must still be found
    expect(r.size).toBe(2000);
    for (let k = 0; k < 2000; k++) expect(r.get(keyOf(`cmd-49-${k}`))).toBe(64 + 49 * 2000 + k);
    r.evictBefore(t0 + 100_000);
    expect(r.size).toBe(0);
    expect(r.get(keyOf('cmd-49-0')) !== 0).toBe(false);
  });

  it('keeps probe runs intact when keys share a home slot and are evicted in between', () => {
    const r = new RecentKeys();
    // Same low word (one home slot), different high words: one long probe run.
    const keys = Array.from({ length: 300 }, (_, i) => ({ hi: i + 1, lo: 5 }));
    for (const [i, k] of keys.entries()) r.add(k, i * 1000, 64 + i);
    r.add({ hi: 0, lo: 0 }, 300_000, 7); // the empty marker's key is still a key
    r.evictBefore(150_000);
    for (const [i, k] of keys.entries()) expect(r.get(k) !== 0).toBe(i >= 150);
    expect(r.get({ hi: 0, lo: 0 })).toBe(7);
  });

  it('says from when every key added is still held, a bucket past each eviction', () => {
    expect(new RecentKeys().keptSince).toBeLessThanOrEqual(indexClock.now());
    const r = new RecentKeys(4_000);
    expect(r.keptSince).toBe(4_000);
    r.add(keyOf('a'), 5_000, 64); // opens a bucket at 5,000
    r.add(keyOf('b'), 5_900, 65); // same bucket: added after the cutoff below, gone with it
    r.add(keyOf('c'), 6_000, 66); // the next bucket
    r.evictBefore(5_500);
    expect(r.get(keyOf('b'))).toBe(0);
    expect(r.get(keyOf('c'))).toBe(66);
    expect(r.keptSince).toBe(6_000);
  });

  it('holds at most its limit, dropping the oldest keys first, a sixteenth of it at once, and moving keptSince past their bucket', () => {
    const r = new RecentKeys(0, 1000);
    // Seconds 1..5, 400 keys each: 2,000 added. A full set drops its oldest 62 (a sixteenth) at
    // once: 17 times here (at the 1,001st key and every 62nd after), so the newest 946 are held.
    for (let s = 1; s <= 5; s++) for (let k = 0; k < 400; k++) r.add(keyOf(`c-${s}-${k}`), s * 1000 + k, 64 + s * 1000 + k);
    expect(r.size).toBe(946);
    for (let s = 1; s <= 5; s++) {
      for (let k = 0; k < 400; k++) expect(r.get(keyOf(`c-${s}-${k}`)), `c-${s}-${k}`).toBe(s * 400 + k >= 1454 ? 64 + s * 1000 + k : 0);
    }
    // Second 3 is partly held: a miss no longer proves a key of its time absent.
    expect(r.keptSince).toBe(4000);
    // A key seen again takes no room; new ones fill the set to its limit, and the next drops 62.
    r.add(keyOf('c-5-0'), 6000, 99);
    expect(r.size).toBe(946);
    for (let k = 0; k < 54; k++) r.add(keyOf(`c-6-${k}`), 6000, 7000 + k);
    expect(r.size).toBe(1000);
    expect(r.get(keyOf('c-3-254'))).toBe(64 + 3000 + 254);
    r.add(keyOf('c-6-54'), 6000, 7054);
    expect(r.size).toBe(939);
    expect(r.get(keyOf('c-3-315'))).toBe(0);
    expect(r.get(keyOf('c-3-316'))).toBe(64 + 3000 + 316);
    expect(r.get(keyOf('c-6-54'))).toBe(7054);
    // Time eviction still drops whole buckets after limit drops took part of one.
    r.evictBefore(5000);
    expect(r.size).toBe(455);
    expect(r.keptSince).toBe(5000);
    r.evictBefore(7000);
    expect(r.size).toBe(0);
  });

  it('drops a batch in any order of slots and still answers like a map (keys sharing home slots)', () => {
    const r = new RecentKeys(0, 320);
    const value = (i: number) => 64 + i;
    // Few low halves: long probe runs whose members the batch deletes out of insertion order.
    const key = (i: number) => ({ hi: (i * 7919) & 0xffff, lo: (i % 37) * 4099 });
    for (let i = 0; i < 5000; i++) {
      r.add(key(i), 1000 + i, value(i));
      if (i % 250 !== 249) continue;
      const held = r.size;
      expect(held).toBeLessThanOrEqual(320);
      expect(held).toBeGreaterThanOrEqual(Math.min(i + 1, 300));
      for (let j = 0; j <= i; j++) expect(r.get(key(j)), `key ${j} after ${i}`).toBe(j > i - held ? value(j) : 0);
    }
  });
});

describe('LatestVersions (latest-version dictionary)', () => {
  it('updates in place, evicts what was not used since the cutoff and recycles slots', () => {
    const d = new LatestVersions();
    for (let i = 0; i < 5000; i++) d.set(`s-${i}`, 1, 100 + i, i < 2500 ? 10 : 20);
    d.set('s-0', 7, 9999, 30); // used again: survives the eviction below
    expect(d.get('s-0')).toEqual({ version: 7, position: 9999 });
    d.evictBefore(15);
    expect(d.size).toBe(2501);
    expect(d.get('s-1')).toBeUndefined();
    expect(d.get('s-0')).toEqual({ version: 7, position: 9999 });
    expect(d.get('s-4999')).toEqual({ version: 1, position: 5099 });
    for (let i = 0; i < 2000; i++) d.set(`t-${i}`, 2, 2 ** 40 + i, 40); // reuses freed slots
    expect(d.get('t-1999')).toEqual({ version: 2, position: 2 ** 40 + 1999 });
    expect(d.get('s-4999')).toEqual({ version: 1, position: 5099 });
    d.evictBefore(35);
    expect(d.size).toBe(2000);
  });

  it('holds at most its limit: a new stream that finds it full drops the least recently used quarter', () => {
    const d = new LatestVersions(0, 100);
    // Last uses out of insertion order: s-i was used at time (i * 37) % 100, all distinct.
    for (let i = 0; i < 100; i++) d.set(`s-${i}`, 1, 64 + i, 1 + ((i * 37) % 100));
    expect(d.size).toBe(100);
    d.set('s-3', 2, 999, 500); // an update takes no room
    d.set('new', 1, 1000, 600); // full: the 25 used least recently go first (times 1..26 but
    // 12, s-3's first use)
    expect(d.size).toBe(76);
    for (let i = 0; i < 100; i++) {
      const used = i === 3 ? 500 : 1 + ((i * 37) % 100);
      expect(d.get(`s-${i}`) !== undefined, `s-${i}`).toBe(used > 26);
    }
    expect(d.get('s-3')).toEqual({ version: 2, position: 999 });
    expect(d.get('new')).toEqual({ version: 1, position: 1000 });
    // Every stream used after the dropped ones is still held; one used at time 26 is not.
    expect(d.keptSince).toBeGreaterThan(26);
    expect(d.keptSince).toBeLessThanOrEqual(27);
  });

  it('drops entries used at the same time together, never the stream being added', () => {
    const d = new LatestVersions(0, 10);
    for (let i = 0; i < 10; i++) d.set(`s-${i}`, 1, 64 + i, 5);
    d.set('next', 1, 100, 5);
    expect(d.size).toBe(1);
    expect(d.get('next')).toEqual({ version: 1, position: 100 });
    expect(d.keptSince).toBeGreaterThan(5);
  });
});

describe('CommandTable (memtable command entries)', () => {
  it('keeps each key’s positions in order through growth, with colliding ids sharing an entry', () => {
    const t = new CommandTable();
    for (let i = 0; i < 20_000; i++) t.add(keyOf(`cmd-${i}`), [64 + i * 100]);
    t.add(keyOf('multi'), [10, 20]);
    t.add(keyOf('multi'), [30]);
    t.add(keyOf('cmd-7'), [99_999_999]); // a second append under a key turns it into a list
    expect(t.size).toBe(20_001);
    expect(t.entries).toBe(20_004);
    expect(t.get(keyOf('cmd-19999'))).toEqual([64 + 1_999_900]);
    expect(t.get(keyOf('multi'))).toEqual([10, 20, 30]);
    expect(t.get(keyOf('cmd-7'))).toEqual([764, 99_999_999]);
    expect(t.get(keyOf('absent'))).toBeUndefined();
    // Two ids with one key (forced: same hi/lo) are one entry; readers check the records.
    t.add({ hi: 1, lo: 2 }, [500]);
    t.add({ hi: 1, lo: 2 }, [600]);
    expect(t.get({ hi: 1, lo: 2 })).toEqual([500, 600]);
    const seen: [number, number][] = [];
    t.forEach((hi, lo, seq, position) => {
      if (hi === 1 && lo === 2) seen.push([seq, position]);
    });
    expect(seen).toEqual([
      [0, 500],
      [1, 600],
    ]);
    let n = 0;
    t.forEach(() => {
      n++;
    });
    expect(n).toBe(t.entries);
  });
});

describe('KeyTable (hash table under both dictionaries)', () => {
  it('answers like a Map when keys share home slots and tags, through adds, deletes and resizes', () => {
    // A small home space forces long probe runs: lo picks one of 64 home slots, and hi is a
    // multiple of 256 so tags come from lo's top byte alone (3 values): probes must compare the
    // keys behind matching tags. Adds win the first half (the table grows), deletes the second
    // (it shrinks back).
    const t = new KeyTable();
    const model = new Map<string, number>();
    let seed = 11;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const keyAt = (i: number) => ({ hi: Math.floor(i / 64) * 256, lo: (i % 64) | ((i % 3) << 24) });
    const nameOf = (k: { hi: number; lo: number }) => `${k.hi}:${k.lo}`;
    let largest = 0;
    for (let step = 0; step < 60_000; step++) {
      const k = keyAt(rand(3000));
      if (rand(8) < (step < 30_000 ? 2 : 7)) {
        t.delete(k);
        model.delete(nameOf(k));
      } else {
        const was = t.update(k, (v) => v + 1);
        expect(was).toBe(model.get(nameOf(k)) ?? 0);
        model.set(nameOf(k), was + 1);
      }
      largest = Math.max(largest, model.size);
      if (step % 997 === 0 || step === 59_999) {
        expect(t.size).toBe(model.size);
        for (let j = 0; j < 3000; j += 7) expect(t.get(keyAt(j))).toBe(model.get(nameOf(keyAt(j))) ?? 0);
      }
    }
    expect(largest).toBeGreaterThan(2000);
    expect(model.size).toBeLessThan(500); // below 1/8 of the 4,096 slots: shrunk
    let n = 0;
    t.forEach((hi, lo, v) => {
      expect(model.get(`${hi}:${lo}`)).toBe(v);
      n++;
    });
    expect(n).toBe(model.size);
  });

  it('takes over a bigger table’s arrays with its own keys only, leaving the other empty', () => {
    const retired = new KeyTable();
    for (let i = 0; i < 20_000; i++) retired.update(keyOf(`old-${i}`), () => 64 + i);
    const t = new KeyTable();
    for (let i = 0; i < 500; i++) t.update(keyOf(`new-${i}`), () => 1000 + i);
    t.adoptArraysOf(retired);
    expect(retired.size).toBe(0);
    expect(retired.get(keyOf('old-1'))).toBe(0);
    expect(t.size).toBe(500);
    for (let i = 0; i < 20_000; i += 13) expect(t.get(keyOf(`old-${i}`)), `old-${i}`).toBe(0);
    for (let i = 0; i < 500; i++) expect(t.get(keyOf(`new-${i}`))).toBe(1000 + i);
    let n = 0;
    t.forEach(() => {
      n++;
    });
    expect(n).toBe(500);
    // Both go on working: the adopted arrays take keys up to their load, and the emptied table
    // grows from its minimum again.
    for (let i = 500; i < 30_000; i++) t.update(keyOf(`new-${i}`), () => 1000 + i);
    for (let i = 0; i < 30_000; i += 11) expect(t.get(keyOf(`new-${i}`))).toBe(1000 + i);
    for (let i = 0; i < 5000; i++) retired.update(keyOf(`again-${i}`), () => 7);
    expect(retired.get(keyOf('again-4999'))).toBe(7);
    // A smaller table's arrays are not taken.
    const small = new KeyTable();
    small.update(keyOf('x'), () => 3);
    t.adoptArraysOf(small);
    expect(small.get(keyOf('x'))).toBe(3);
    expect(t.size).toBe(30_000);
  });

  it('refuses a key wider than 48 bits instead of storing it cut short', () => {
    const t = new KeyTable();
    expect(() => t.update({ hi: 0x1_0000, lo: 7 }, () => 1)).toThrow(RangeError);
    expect(t.size).toBe(0);
    t.update({ hi: 0xffff, lo: 7 }, () => 1);
    expect(t.get({ hi: 0xffff, lo: 7 })).toBe(1);
  });
});
