import { describe, expect, it } from 'vitest';
import { ChunkedLists } from '../lib/index/chunked-lists.js';

describe('ChunkedLists', () => {
  it('holds interleaved lists of any length exactly as arrays do', () => {
    const lists = new ChunkedLists();
    const oracle: number[][] = [];
    let seed = 11;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let op = 0; op < 50_000; op++) {
      if (oracle.length === 0 || rand(50) === 0) {
        expect(lists.create()).toBe(oracle.length);
        oracle.push([]);
        continue;
      }
      // Skewed: a few lists take most values (past several chunks), most stay short.
      const l = rand(4) === 0 ? rand(oracle.length) : rand(Math.min(3, oracle.length));
      const v = op * 65_536 + rand(65_536);
      lists.push(l, v);
      (oracle[l] as number[]).push(v);
    }
    let values = 0;
    oracle.forEach((want, l) => {
      expect(lists.size(l)).toBe(want.length);
      if (want.length > 0) {
        const from = rand(want.length);
        const to = from + rand(want.length - from);
        const out = [-1];
        lists.read(l, from, to, out);
        expect(out).toEqual([-1, ...want.slice(from, to + 1)]);
      }
      for (let i = 0; i < want.length; i++) if (lists.at(l, i) !== want[i]) expect(lists.at(l, i)).toBe(want[i]);
      values += want.length;
    });
    expect(lists.values).toBe(values);
    expect(Math.max(...oracle.map((o) => o.length))).toBeGreaterThan(1000);
  });
});
