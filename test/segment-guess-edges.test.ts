/**
 * The native reader's leaf search from a guess (Range, FindLast) and its chain of segments, held to
 * the JS reader's answers (which search without a guess) on key sets shaped against the guess:
 * leaves of one key (category and type segments), keys at 0 and 2^48 - 1, keys bunched at either
 * end of the range, and equal (key, seq) pairs of commands spanning leaves.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsSegmentBackend } from '../lib/index/js-segments.js';
import { NativeSegmentBackend } from '../lib/index/native-segments.js';
import type { SegmentEntries } from '../lib/index/segment-backend.js';
import { nativeAddon } from '../lib/native.js';
import { tempDir } from './helpers.js';

const addon = nativeAddon();
const MAX_HI = 0xffff;
const MAX_LO = 0xffffffff;

interface Row {
  hi: number;
  lo: number;
  seq: number;
  position: number;
}

function columns(rows: Row[]): SegmentEntries {
  return {
    hi: Uint32Array.from(rows, (r) => r.hi),
    lo: Uint32Array.from(rows, (r) => r.lo),
    seq: Uint32Array.from(rows, (r) => r.seq),
    position: Float64Array.from(rows, (r) => r.position),
  };
}

let seed = 11;
const rand = (n: number) => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
};

/** Key sets against the guess, each with its kind. */
function shapes(): [string, number, Row[]][] {
  let position = 64;
  const run = (hi: number, lo: number, n: number, seq: (i: number) => number) =>
    Array.from({ length: n }, (_, i) => {
      position += 40;
      return { hi, lo, seq: seq(i), position };
    });
  return [
    ['one key at 0 (category)', 3, run(0, 0, 3000, (i) => i + 1)],
    ['one key at the top (type)', 4, run(MAX_HI, MAX_LO, 3000, (i) => i + 1)],
    [
      'both ends and a middle key',
      1,
      [...run(0, 0, 700, (i) => i + 1), ...run(0x8000, 5, 3, (i) => i + 1), ...run(MAX_HI, MAX_LO, 700, (i) => i + 1)],
    ],
    ['keys bunched at the bottom', 1, Array.from({ length: 2000 }, (_, i) => run(0, i * 3, 1 + (i % 4), (v) => v + 1)).flat()],
    ['keys bunched at the top', 2, Array.from({ length: 2000 }, (_, i) => run(MAX_HI, MAX_LO - i * 3, 1 + (i % 3), () => 0)).flat()],
    ['a command of one key over many leaves', 2, [...run(0, 1, 50, () => 0), ...run(3, 3, 1500, () => 0), ...run(MAX_HI, 0, 50, () => 0)]],
  ];
}

describe.skipIf(!addon)('native leaf search from a guess, against the JS reader', () => {
  it('answers range and findLast as the JS reader does on key sets shaped against the guess', async () => {
    const dir = tempDir();
    const native = new NativeSegmentBackend(addon!);
    const js = new JsSegmentBackend(undefined, { worker: false });
    for (const [name, kind, rows] of shapes()) {
      const file = `${name.replace(/\W+/g, '-')}.seg`;
      await native.build(dir, file, { kind: kind as 1, fromPosition: 64, toPosition: 2 ** 40 }, columns(rows));
      const n = native.open(path.join(dir, file));
      const j = js.open(path.join(dir, file));
      const keys = new Map<string, [number, number]>();
      for (const r of rows) keys.set(`${r.hi}:${r.lo}`, [r.hi, r.lo]);
      const probes = [...keys.values()].filter((_, i) => i % 13 === 0 || i < 5);
      for (const [hi, lo] of [...probes, [0, 0], [0, 1], [MAX_HI, MAX_LO], [MAX_HI, MAX_LO - 1], [0x8000, 4], [0x8000, 6]] as [
        number,
        number,
      ][]) {
        for (let t = 0; t < 12; t++) {
          const from = t === 0 ? 0 : rand(3100);
          const to = t === 1 ? MAX_LO : from + rand(t % 2 ? 3 : 400);
          expect(Array.from(n.range(hi, lo, from, to)), `${name} ${hi}:${lo} ${from}-${to}`).toEqual(Array.from(j.range(hi, lo, from, to)));
        }
        expect(n.findLast(hi, lo), `${name} ${hi}:${lo}`).toEqual(j.findLast(hi, lo));
      }
      n.close();
      j.close();
    }
  });

  it('answers chain lookups as the newest segment holding the key, over segments at the key range ends', async () => {
    const dir = tempDir();
    const native = new NativeSegmentBackend(addon!);
    const readers = [];
    const all = shapes().filter(([, kind]) => kind === 2);
    for (const [name, , rows] of all) {
      await native.build(dir, `${name.replace(/\W+/g, '-')}.seg`, { kind: 2, fromPosition: 64, toPosition: 2 ** 40 }, columns(rows));
      readers.push(native.open(path.join(dir, `${name.replace(/\W+/g, '-')}.seg`)));
    }
    const chain = native.chain(readers);
    for (const [hi, lo] of [
      [0, 1],
      [3, 3],
      [MAX_HI, 0],
      [MAX_HI, MAX_LO],
      [MAX_HI, MAX_LO - 3],
      [0, 0],
      [1, 1],
    ] as [number, number][]) {
      for (let count = 0; count <= readers.length + 1; count++) {
        const out: number[] = [];
        const hit = chain.newestPositions(hi, lo, 0, MAX_LO, count, out);
        let want = -1;
        let wantOut: number[] = [];
        for (let i = Math.min(count, readers.length) - 1; i >= 0 && want < 0; i--) {
          const r = readers[i]!.range(hi, lo, 0, MAX_LO);
          if (r.length > 0) {
            want = i;
            wantOut = Array.from(r).filter((_, k) => k % 2 === 1);
          }
        }
        expect([hit, out], `${hi}:${lo} count ${count}`).toEqual([want, wantOut]);
      }
    }
    chain.close();
    for (const r of readers) r.close();
  });
});
