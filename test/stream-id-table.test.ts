/**
 * StreamIdTable against a Map model: adds, removes and lookups through several incremental
 * doublings, with a weak hash so that probe runs are long and cross the index's end, and removals
 * land while a doubling is half done.
 */
import { describe, expect, it } from 'vitest';
import { SlotColumn, StreamIdTable, streamHash } from '../lib/index/stream-id-table.js';

describe('StreamIdTable', () => {
  it('answers like a Map through adds, removes and incremental doublings', () => {
    // 61 distinct hashes, all 1023 modulo 1024: one home slot until the index passes 1024
    // buckets and few after, so probe runs are long and wrap past the index's end.
    const weak = (id: string) => (streamHash(id) % 61) * 1024 + 1023;
    for (const hash of [weak, streamHash]) {
      const t = new StreamIdTable(hash);
      const model = new Map<string, number>();
      const used = new Set<number>();
      let seed = 5;
      const rand = (n: number) => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed % n;
      };
      const N = hash === weak ? 3000 : 40_000;
      for (let op = 0; op < N * 3; op++) {
        const id = `s-${rand(N)}`;
        const held = model.get(id);
        // Adds win the first two thirds, removes the last (slots are freed and reused).
        const adding = op < N * 2 ? rand(4) !== 0 : rand(4) === 0;
        if (held === undefined && adding) {
          const s = t.add(id);
          if (used.has(s)) throw new Error(`slot ${s} handed out twice`);
          used.add(s);
          model.set(id, s);
        } else if (held !== undefined && !adding) {
          t.remove(held);
          used.delete(held);
          model.delete(id);
        }
        if (op % 997 === 0) {
          const wrong: string[] = [];
          for (const [k, s] of model) if (t.get(k) !== s || t.idAt(s) !== k) wrong.push(k);
          expect(wrong).toEqual([]);
          expect(t.get(`absent-${op}`)).toBe(-1);
        }
        const got = t.get(id);
        if (got !== (model.get(id) ?? -1)) expect(got).toBe(model.get(id) ?? -1);
      }
      expect(t.size).toBe(model.size);
      let live = 0;
      for (let s = 0; s < t.end; s++) if (t.idAt(s) !== undefined) live++;
      expect(live).toBe(model.size);
    }
  });

  it('keeps slots freed and reused while a doubling is under way', () => {
    const t = new StreamIdTable();
    const ids = Array.from({ length: 520 }, (_, i) => `a-${i}`);
    const slots = ids.map((id) => t.add(id));
    // The index (1024 buckets) starts doubling at the 513th id and enters 8 slots per add: 64 are
    // in the new index now. Free slots below that and reuse them before the doubling ends.
    for (let i = 0; i < 50; i++) t.remove(slots[i] as number);
    const reused = Array.from({ length: 50 }, (_, i) => t.add(`b-${i}`));
    expect(Math.max(...reused)).toBeLessThan(50);
    const check = () => {
      for (let i = 50; i < 520; i++) expect(t.get(ids[i] as string)).toBe(slots[i]);
      for (let i = 0; i < 50; i++) expect(t.get(ids[i] as string)).toBe(-1);
      for (let i = 0; i < 50; i++) expect(t.get(`b-${i}`)).toBe(reused[i]);
    };
    // The doubling ends (the new index takes over) and the next has not begun (it would enter
    // every slot again, healing a lost one).
    for (let i = 0; i < 200; i++) t.add(`c-${i}`);
    check();
    for (let i = 200; i < 3000; i++) t.add(`c-${i}`);
    check();
    expect(t.size).toBe(470 + 50 + 3000);
    // Removing them all leaves nothing findable, freed slots included.
    for (let s = 0; s < t.end; s++) t.remove(s);
    expect(t.size).toBe(0);
    expect(t.get('b-7')).toBe(-1);
    expect(t.get('c-2999')).toBe(-1);
  });

  it.each([
    [20_000, 300],
    [17_000, 600], // both halfway through a doubling (at load 1/2 of 32768 and of 1024 buckets)
  ])('takes over a retired table’s grown index (%i ids) with its own (%i) only, and both go on working', (old, own) => {
    const retired = new StreamIdTable();
    for (let i = 0; i < old; i++) retired.add(`old-${i}`);
    const t = new StreamIdTable();
    const slots = Array.from({ length: own }, (_, i) => t.add(`new-${i}`));
    t.adoptIndexOf(retired);
    for (let i = 0; i < own; i++) expect(t.get(`new-${i}`)).toBe(slots[i]);
    for (let i = 0; i < old; i += 7) expect(t.get(`old-${i}`), `old-${i}`).toBe(-1);
    expect(retired.get('old-1')).toBe(-1);
    // The adopted index takes ids up to its load and doubles past it; removals keep probe runs.
    for (let i = own; i < 50_000; i++) expect(t.add(`new-${i}`)).toBe(i);
    for (let i = 0; i < 50_000; i += 3) t.remove(t.get(`new-${i}`));
    for (let i = 0; i < 50_000; i++) expect(t.get(`new-${i}`) >= 0, `new-${i}`).toBe(i % 3 !== 0);
    // A smaller index is not taken.
    const small = new StreamIdTable();
    small.add('x');
    t.adoptIndexOf(small);
    expect(small.get('x')).toBe(0);
    expect(t.size).toBe(33_333);
    // The emptied table takes ids again from its minimum.
    for (let i = 0; i < 3000; i++) retired.add(`again-${i}`);
    expect(retired.get('again-2999')).toBeGreaterThanOrEqual(0);
  });

  it('hashes by content, so equal ids built apart meet', () => {
    const a = ['order', '42'].join('-');
    const h = streamHash(a);
    streamHash('something else'); // streamHash keeps its last answer: compute the next one afresh
    expect(streamHash('order-42')).toBe(h);
    expect(streamHash('order-24')).not.toBe(h);
  });
});

describe('SlotColumn', () => {
  it('holds values across block boundaries', () => {
    const c = new SlotColumn();
    for (let s = 0; s < 40_000; s += 7) c.set(s, s * 1.5 + 2 ** 40);
    for (let s = 0; s < 40_000; s += 7) expect(c.get(s)).toBe(s * 1.5 + 2 ** 40);
  });
});
