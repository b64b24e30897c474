/**
 * Crafted segment files (every page's CRC valid) against the native reader's leaf search from a
 * guess and its chain: separators out of order, child pointers anywhere, counts at and past
 * capacity, random entries. A lookup answers or throws CorruptionError; it never reads outside
 * the file (a crash would end the test process).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../lib/format/crc32c.js';
import { decodeSegmentHeader, SEGMENT_PAGE_SIZE } from '../lib/format/index-layout.js';
import { NativeSegmentBackend } from '../lib/index/native-segments.js';
import { CorruptionError } from '../lib/index.js';
import { nativeAddon } from '../lib/native.js';
import { tempDir } from './helpers.js';

const addon = nativeAddon();

let seed = 5;
const rand = (n: number) => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return Math.floor((seed / 2 ** 32) * n);
};

describe.skipIf(!addon)('crafted segment files met by the native leaf search and chain', () => {
  it('answers or throws CorruptionError for mutated tree pages with valid CRCs', async () => {
    const dir = tempDir();
    const native = new NativeSegmentBackend(addon!);
    for (const kind of [1, 2] as const) {
      const n = 120_000;
      const keys = Array.from({ length: n }, (_, i) => [i % 7 === 0 ? 0xffff : rand(0x10000), i % 11 === 0 ? 0 : rand(2 ** 32)] as const);
      await native.build(
        dir,
        `base-${kind}.seg`,
        { kind, fromPosition: 64, toPosition: 2 ** 40 },
        {
          hi: Uint32Array.from(keys, (k) => k[0]),
          lo: Uint32Array.from(keys, (k) => k[1]),
          seq: Uint32Array.from({ length: n }, (_, i) => (kind === 1 ? 1 + (i % 5) : 0)),
          position: Float64Array.from({ length: n }, (_, i) => 64 + i * 8),
        },
      );
      const base = fs.readFileSync(path.join(dir, `base-${kind}.seg`));
      const h = decodeSegmentHeader(base)!;
      expect(h.height).toBeGreaterThanOrEqual(3);
      for (let round = 0; round < 400; round++) {
        const file = Buffer.from(base);
        for (let m = 0; m < 1 + rand(4); m++) {
          // A tree page: leaves 1..leafCount, internal pages after them up to bloomPage.
          const page = rand(2) === 0 ? h.leafCount + 1 + rand(h.bloomPage - h.leafCount - 1) : 1 + rand(h.bloomPage - 1);
          const p = file.subarray(page * SEGMENT_PAGE_SIZE, (page + 1) * SEGMENT_PAGE_SIZE);
          const what = rand(5);
          if (what === 0) p.writeUInt32LE([0, 1, 254, 255, 256, 340, 341, 0xffffffff][rand(8)] as number, 0);
          else if (what === 1) for (let k = 0; k < 20; k++) p[8 + rand(SEGMENT_PAGE_SIZE - 8)] = rand(256);
          else if (what === 2)
            p.writeUInt32LE([0, h.bloomPage, h.pageCount, 0xffffffff, h.rootPage, 1][rand(6)] as number, 16 + rand(200) * 16 + 12);
          else if (what === 3) p.writeUInt32LE(rand(2 ** 32), 16 + rand(250) * 16 + rand(2) * 4);
          else p.fill(0xff, 8 + rand(2000), 8 + 2000 + rand(2000));
          p.writeUInt32LE(crc32c(p, 0, 8, SEGMENT_PAGE_SIZE), 4);
        }
        const name = `m-${kind}-${round}.seg`;
        fs.writeFileSync(path.join(dir, name), file);
        const seg = native.open(path.join(dir, name));
        const chain = native.chain([seg, seg]);
        for (let q = 0; q < 60; q++) {
          const [hi, lo] = q % 3 === 0 ? (keys[rand(n)] as readonly [number, number]) : [rand(0x10000), rand(2 ** 32)];
          for (const look of [
            () => seg.range(hi, lo, 0, 0xffffffff),
            () => seg.range(hi, lo, rand(6), rand(6)),
            () => seg.findLast(hi, lo),
            () => chain.newestPositions(hi, lo, 0, 0xffffffff, 2, []),
          ]) {
            try {
              look();
            } catch (err) {
              expect(err).toBeInstanceOf(CorruptionError);
            }
          }
        }
        chain.close();
        seg.close();
        fs.rmSync(path.join(dir, name));
      }
    }
  }, 120_000);
});
