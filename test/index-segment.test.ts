import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bloomMayContain,
  decodeSegmentHeader,
  SEGMENT_KIND_STREAM,
  SEGMENT_PAGE_SIZE,
  type SegmentHeader,
} from '../lib/format/index-layout.js';
import { keyOf } from '../lib/format/key-hash.js';
import { JsSegmentBackend } from '../lib/index/js-segments.js';
import { NativeSegmentBackend } from '../lib/index/native-segments.js';
import type { SegmentBackend } from '../lib/index/segment-backend.js';
import { CorruptionError } from '../lib/index.js';
import { nativeAddon } from '../lib/native.js';
import { tempDir } from './helpers.js';

// The JS engine's jobs both in its worker thread and on the event loop.
const backends: [string, SegmentBackend][] = [
  ['js', new JsSegmentBackend(undefined, { worker: false })],
  ['js-worker', new JsSegmentBackend(undefined, { inThreadBelow: 0 })],
];
const addon = nativeAddon();
if (addon) backends.unshift(['native', new NativeSegmentBackend(addon)]);

/** Streams s-0 … s-(n-1), stream i holding versions 1 … (i % 7) + 1, shuffled. */
function entries(streams: number) {
  const rows: { hi: number; lo: number; seq: number; position: number; stream: string }[] = [];
  let position = 64;
  for (let i = 0; i < streams; i++) {
    const k = keyOf(`s-${i}`);
    for (let v = 1; v <= (i % 7) + 1; v++) {
      position += 100;
      rows.push({ ...k, seq: v, position, stream: `s-${i}` });
    }
  }
  for (let i = rows.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  return {
    rows,
    arrays: {
      hi: Uint32Array.from(rows, (r) => r.hi),
      lo: Uint32Array.from(rows, (r) => r.lo),
      seq: Uint32Array.from(rows, (r) => r.seq),
      position: Float64Array.from(rows, (r) => r.position),
    },
  };
}

describe.each(backends)('index segments built by %s', (_name, builder) => {
  it.each(backends)('answer lookups and ranges when read by %s', async (_reader, reader) => {
    const dir = tempDir();
    const { rows, arrays } = entries(5000);
    await builder.build(dir, 'a.seg', { kind: SEGMENT_KIND_STREAM, fromPosition: 64, toPosition: 9_999_999 }, arrays);
    const seg = reader.open(path.join(dir, 'a.seg'));
    expect(seg.header).toMatchObject({ kind: 1, fromPosition: 64, toPosition: 9_999_999, entryCount: rows.length, distinctKeys: 5000 });
    for (const i of [0, 1, 6, 777, 4999]) {
      const k = keyOf(`s-${i}`);
      const mine = rows.filter((r) => r.stream === `s-${i}`).sort((a, b) => a.seq - b.seq);
      expect(seg.mayContain(k.hi, k.lo)).toBe(true);
      expect(seg.findLast(k.hi, k.lo)).toEqual([mine.at(-1)!.seq, mine.at(-1)!.position]);
      expect(Array.from(seg.range(k.hi, k.lo, 1, 100))).toEqual(mine.flatMap((r) => [r.seq, r.position]));
      expect(Array.from(seg.range(k.hi, k.lo, 2, 2))).toEqual(mine.filter((r) => r.seq === 2).flatMap((r) => [r.seq, r.position]));
    }
    let falsePositives = 0;
    for (let i = 0; i < 2000; i++) {
      const k = keyOf(`absent-${i}`);
      if (seg.mayContain(k.hi, k.lo)) falsePositives++;
      expect(seg.findLast(k.hi, k.lo)).toBeUndefined();
      expect(seg.range(k.hi, k.lo, 0, 0xffffffff).length).toBe(0);
    }
    expect(falsePositives).toBeLessThan(60);
    seg.close();
  });

  it('keeps colliding keys: equal (key, seq) pairs across leaf boundaries all come back', async () => {
    const dir = tempDir();
    const n = 1000;
    const e = {
      hi: new Uint32Array(n).fill(7),
      lo: new Uint32Array(n).fill(9),
      seq: Uint32Array.from({ length: n }, (_, i) => Math.floor(i / 4)),
      position: Float64Array.from({ length: n }, (_, i) => 1000 + i),
    };
    await builder.build(dir, 'c.seg', { kind: 1, fromPosition: 64, toPosition: 5000 }, e);
    for (const [, reader] of backends) {
      const seg = reader.open(path.join(dir, 'c.seg'));
      expect(seg.range(7, 9, 0, 0xffffffff).length).toBe(2 * n);
      for (const q of [0, 42, 170, 249]) {
        expect(Array.from(seg.range(7, 9, q, q))).toEqual([0, 1, 2, 3].flatMap((k) => [q, 1000 + 4 * q + k]));
      }
      expect(seg.findLast(7, 9)).toEqual([249, 1000 + n - 1]);
      seg.close();
    }
  });

  it('answers ranges that start and end anywhere, inside a leaf or across leaves', async () => {
    const dir = tempDir();
    // Three keys with 600-entry runs (each spans several 255-entry leaves) and every 7th seq missing.
    const rows: { hi: number; lo: number; seq: number; position: number }[] = [];
    for (const lo of [3, 5, 8]) for (let s = 1; s <= 700; s++) if (s % 7 !== 0) rows.push({ hi: 1, lo, seq: s, position: lo * 10_000 + s });
    const e = {
      hi: Uint32Array.from(rows, (r) => r.hi),
      lo: Uint32Array.from(rows, (r) => r.lo),
      seq: Uint32Array.from(rows, (r) => r.seq),
      position: Float64Array.from(rows, (r) => r.position),
    };
    await builder.build(dir, 'r.seg', { kind: 1, fromPosition: 64, toPosition: 100_000 }, e);
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (const [, reader] of backends) {
      const seg = reader.open(path.join(dir, 'r.seg'));
      for (let t = 0; t < 300; t++) {
        const lo = [3, 5, 8, 4][rand(4)] as number;
        const from = rand(720);
        const to = from + rand(t % 2 === 0 ? 5 : 400);
        const want = rows.filter((r) => r.lo === lo && r.seq >= from && r.seq <= to).flatMap((r) => [r.seq, r.position]);
        expect(Array.from(seg.range(1, lo, from, to))).toEqual(want);
      }
      seg.close();
    }
  });

  it('merges segments into one holding every entry', async () => {
    const dir = tempDir();
    const { rows, arrays } = entries(3000);
    const half = Math.floor(rows.length / 2);
    const part = (a: number, b: number) => ({
      hi: arrays.hi.slice(a, b),
      lo: arrays.lo.slice(a, b),
      seq: arrays.seq.slice(a, b),
      position: arrays.position.slice(a, b),
    });
    await builder.build(dir, 'x.seg', { kind: 1, fromPosition: 64, toPosition: 100 }, part(0, half));
    await builder.build(dir, 'y.seg', { kind: 1, fromPosition: 100, toPosition: 200 }, part(half, rows.length));
    const inputs = [builder.open(path.join(dir, 'x.seg')), builder.open(path.join(dir, 'y.seg'))];
    await builder.merge(dir, 'xy.seg', { kind: 1, fromPosition: 64, toPosition: 200 }, inputs);
    const merged = builder.open(path.join(dir, 'xy.seg'));
    expect(merged.header.entryCount).toBe(rows.length);
    const k = keyOf('s-6');
    expect(merged.findLast(k.hi, k.lo)?.[0]).toBe(7);
    for (const s of [...inputs, merged]) s.close();
  });

  it('builds an empty segment and detects damaged pages and headers', async () => {
    const dir = tempDir();
    await builder.build(dir, 'e.seg', { kind: 2, fromPosition: 64, toPosition: 64 }, entries(0).arrays);
    const empty = builder.open(path.join(dir, 'e.seg'));
    expect(empty.findLast(1, 2)).toBeUndefined();
    empty.close();
    await builder.build(dir, 'd.seg', { kind: 1, fromPosition: 64, toPosition: 99 }, entries(2000).arrays);
    const file = path.join(dir, 'd.seg');
    const fd = fs.openSync(file, 'r+');
    const header = Buffer.alloc(SEGMENT_PAGE_SIZE);
    fs.readSync(fd, header, 0, SEGMENT_PAGE_SIZE, 0);
    const root = header.readUInt32LE(44); // every lookup starts at the root
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, root * SEGMENT_PAGE_SIZE + 100);
    fs.closeSync(fd);
    for (const [, reader] of backends) {
      const seg = reader.open(file);
      const k = keyOf('s-0');
      expect(() => seg.range(k.hi, k.lo, 0, 10)).toThrow(CorruptionError);
      seg.close();
    }
    const fd2 = fs.openSync(file, 'r+');
    fs.writeSync(fd2, Buffer.from([0xff]), 0, 1, 20);
    fs.closeSync(fd2);
    for (const [, reader] of backends) expect(() => reader.open(file)).toThrow(CorruptionError);
  });

  it('checks a leaf CRC at its first read, and trusts it afterwards as the mapping of the native reader does', async () => {
    const dir = tempDir();
    await builder.build(dir, 'v.seg', { kind: 1, fromPosition: 64, toPosition: 99 }, entries(2000).arrays);
    const file = path.join(dir, 'v.seg');
    const damageLeaf = (leaf: number) => {
      const fd = fs.openSync(file, 'r+');
      const b = Buffer.alloc(1);
      fs.readSync(fd, b, 0, 1, leaf * SEGMENT_PAGE_SIZE + 100);
      fs.writeSync(fd, Buffer.from([b[0]! ^ 0xff]), 0, 1, leaf * SEGMENT_PAGE_SIZE + 100);
      fs.closeSync(fd);
    };
    const k = keyOf('s-0');
    const readers = backends.map(([name, b]) => [name, b.open(file)] as const);
    const before = readers.map(([, r]) => Array.from(r.range(k.hi, k.lo, 0, 10)));
    expect(before[0]?.length).toBeGreaterThan(0);
    // Every leaf damaged after s-0's was read once: neither engine checks that leaf again.
    const header = decodeSegmentHeader(fs.readFileSync(file).subarray(0, SEGMENT_PAGE_SIZE)) as SegmentHeader;
    for (let leaf = 1; leaf <= header.leafCount; leaf++) damageLeaf(leaf);
    for (const [i, [name, r]] of readers.entries()) expect(Array.from(r.range(k.hi, k.lo, 0, 10)), name).toEqual(before[i]);
    for (const [, r] of readers) r.close();
    // Opened afresh, the damaged leaf is found by every engine.
    for (const [, b] of backends) {
      const r = b.open(file);
      expect(() => r.range(k.hi, k.lo, 0, 10)).toThrow(CorruptionError);
      r.close();
    }
  });

  it('stores command entries without an ordinal: colliding commands come back in position order, merges sum their starts', async () => {
    const dir = tempDir();
    // Two commands under one key, each of two events, their positions interleaved against their
    // ordinals: (seq 0 @ 300, seq 1 @ 310) and (seq 0 @ 100, seq 1 @ 110); and a third key.
    const e = {
      hi: Uint32Array.from([7, 7, 7, 7, 3]),
      lo: Uint32Array.from([9, 9, 9, 9, 4]),
      seq: Uint32Array.from([0, 1, 0, 1, 0]),
      position: Float64Array.from([300, 310, 100, 110, 200]),
    };
    await builder.build(dir, 'a.seg', { kind: 2, fromPosition: 64, toPosition: 400 }, e);
    const later = { hi: Uint32Array.from([7]), lo: Uint32Array.from([9]), seq: Uint32Array.from([0]), position: Float64Array.from([500]) };
    await builder.build(dir, 'b.seg', { kind: 2, fromPosition: 400, toPosition: 600 }, later);
    const inputs = [builder.open(path.join(dir, 'a.seg')), builder.open(path.join(dir, 'b.seg'))];
    expect(inputs.map((x) => x.header.starts)).toEqual([3, 1]);
    await builder.merge(dir, 'ab.seg', { kind: 2, fromPosition: 64, toPosition: 600 }, inputs);
    const merged = builder.open(path.join(dir, 'ab.seg'));
    expect(merged.header.starts).toBe(4);
    expect(merged.header.entryCount).toBe(6);
    for (const [, reader] of backends) {
      const seg = reader.open(path.join(dir, 'ab.seg'));
      expect(Array.from(seg.range(7, 9, 0, 0xffffffff))).toEqual([0, 100, 0, 110, 0, 300, 0, 310, 0, 500]);
      expect(Array.from(seg.range(3, 4, 0, 0xffffffff))).toEqual([0, 200]);
      seg.close();
    }
    // 12-byte entries: 340 to a leaf; stream segments hold 16-byte entries, 255 to a leaf.
    const many = 1000;
    const big = {
      hi: new Uint32Array(many).fill(1),
      lo: Uint32Array.from({ length: many }, (_, i) => i),
      seq: new Uint32Array(many),
      position: Float64Array.from({ length: many }, (_, i) => 64 + i),
    };
    await builder.build(dir, 'c.seg', { kind: 2, fromPosition: 64, toPosition: 64 + many }, big);
    await builder.build(dir, 's.seg', { kind: 1, fromPosition: 64, toPosition: 64 + many }, { ...big, seq: new Uint32Array(many).fill(1) });
    const leaves = (name: string) => {
      const h = Buffer.alloc(SEGMENT_PAGE_SIZE);
      const fd = fs.openSync(path.join(dir, name), 'r');
      fs.readSync(fd, h, 0, SEGMENT_PAGE_SIZE, 0);
      fs.closeSync(fd);
      return h.readUInt32LE(40);
    };
    expect(leaves('c.seg')).toBe(Math.ceil(many / 340));
    expect(leaves('s.seg')).toBe(Math.ceil(many / 255));
    for (const x of [...inputs, merged]) x.close();
  });

  it('refuses keys past 48 bits', async () => {
    const dir = tempDir();
    const one = (hi: number) => ({
      hi: Uint32Array.from([hi]),
      lo: Uint32Array.from([1]),
      seq: Uint32Array.from([1]),
      position: Float64Array.from([64]),
    });
    await expect(builder.build(dir, 'k.seg', { kind: 1, fromPosition: 64, toPosition: 100 }, one(0x1_0000))).rejects.toThrow();
    await builder.build(dir, 'ok.seg', { kind: 1, fromPosition: 64, toPosition: 100 }, one(0xffff));
    expect(fs.existsSync(path.join(dir, 'k.seg'))).toBe(false);
  });
});

describe.skipIf(!addon)('the addon’s lookup block', () => {
  it('answers as the argument form does, leaves an answer too long for it unwritten, and is required', async () => {
    const native = addon as NonNullable<typeof addon>;
    const dir = tempDir();
    const { arrays } = entries(700);
    await new NativeSegmentBackend(native).build(
      dir,
      'b.seg',
      { kind: SEGMENT_KIND_STREAM, fromPosition: 64, toPosition: 9_999_999 },
      arrays,
    );
    const file = path.join(dir, 'b.seg');
    const block = new Float64Array(8); // room for two entries
    const seg = new native.NativeSegment(file, block);
    const out = new Float64Array(64);
    for (let i = 0; i < 700; i++) {
      const k = keyOf(`s-${i}`);
      block.set([k.hi, k.lo, 2, 100]);
      const n = seg.rangeInBlock();
      expect(n).toBe(seg.range(k.hi, k.lo, 2, 100, out));
      expect(n).toBe(2 * (i % 7));
      if (n <= 4) expect(Array.from(block.subarray(4, 4 + n))).toEqual(Array.from(out.subarray(0, n)));
      else expect(Array.from(block.subarray(4))).toEqual([-1, -1, -1, -1]);
      block.set([k.hi, k.lo]);
      expect(seg.findLastInBlock()).toBe(2);
      const all = seg.range(k.hi, k.lo, 0, 0xffffffff, out);
      expect(Array.from(block.subarray(4, 6))).toEqual(Array.from(out.subarray(all - 2, all)));
      block.fill(-1, 4);
    }
    // Values no key or seq can take are clamped, not cast (a NaN or negative double cast to an
    // integer is undefined behaviour): nothing is found.
    block.set([Number.NaN, -5, -1, Number.POSITIVE_INFINITY]);
    expect(seg.rangeInBlock()).toBe(0);
    seg.close();
    expect(() => new native.NativeSegment(file, new Float64Array(5))).toThrow(/at least 6/);
    expect(() => new (native.NativeSegment as unknown as new (p: string) => unknown)(file)).toThrow(/block/);
  });
});

describe.skipIf(!addon)('the addon’s Bloom filter', () => {
  it('is read from the mapping, which stays in place while JS holds it, after close and deletion', async () => {
    const native = addon as NonNullable<typeof addon>;
    const dir = tempDir();
    const { arrays } = entries(3000);
    const backend = new NativeSegmentBackend(native);
    await backend.build(dir, 'c.seg', { kind: SEGMENT_KIND_STREAM, fromPosition: 64, toPosition: 9_999_999 }, arrays);
    const file = path.join(dir, 'c.seg');
    const seg = new native.NativeSegment(file, new Float64Array(8));
    const bits = seg.bloomBits();
    expect(bits.length).toBe(seg.header().bloomBytes);
    // The same bytes as the file's Bloom pages (no copy was asked for, none is needed to compare).
    const onDisk = fs.readFileSync(file);
    const at = (decodeSegmentHeader(onDisk) as SegmentHeader).bloomPage * SEGMENT_PAGE_SIZE;
    expect(bits.equals(onDisk.subarray(at, at + bits.length))).toBe(true);
    const before = Buffer.from(bits);
    // A merge closes its inputs and deletes their files: the Buffer keeps the mapping alive.
    seg.close();
    if (process.platform !== 'win32') fs.rmSync(file); // Windows refuses to delete a mapped file

    (globalThis as { gc?: () => void }).gc?.();
    expect(bits.equals(before)).toBe(true);
    for (let i = 0; i < 3000; i += 97) expect(bloomMayContain(bits, keyOf(`s-${i}`).hi, keyOf(`s-${i}`).lo)).toBe(true);
    expect(() => seg.bloomBits()).toThrow(/closed/);
    // Through the backend: a segment's filter is no heap copy.
    await backend.build(dir, 'd.seg', { kind: SEGMENT_KIND_STREAM, fromPosition: 64, toPosition: 9_999_999 }, arrays);
    const reader = backend.open(path.join(dir, 'd.seg'));
    const k = keyOf('s-5');
    expect(reader.mayContain(k.hi, k.lo)).toBe(true);
    expect(reader.heapBytes()).toBe(0);
    reader.close();
    expect(reader.mayContain(k.hi, k.lo)).toBe(true);
  });
});
