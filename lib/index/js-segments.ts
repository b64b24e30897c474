/**
 * The JS engine's segment backend: the same files as native/index_segment*.cc, read page by page
 * with pread (each page CRC-checked) and written by a TypeScript builder on the event loop.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readExactly, writeFully } from '../engine/js-chunk-file.js';
import { CorruptionError, toAnnalsError } from '../errors.js';
import { crc32c } from '../format/crc32c.js';
import {
  BLOOM_HASHES,
  bloomAdd,
  bloomBytesFor,
  bloomMayContain,
  compareEntry,
  decodeSegmentHeader,
  ENTRY_KEY_HI_OFFSET,
  ENTRY_SEQ_OFFSET,
  encodeSegmentHeader,
  entryPositionOffset,
  entrySize,
  INTERNAL_CAPACITY,
  leafCapacity,
  MAX_SEGMENT_POSITION,
  SEGMENT_FORMAT_VERSION,
  SEGMENT_KIND_COMMAND,
  SEGMENT_KIND_STREAM,
  SEGMENT_PAGE_SIZE,
  SEGMENT_SEPARATOR_SIZE,
  type SegmentHeader,
  writeEntry,
} from '../format/index-layout.js';
import { fsyncDirectory, replaceFile } from '../fs-durable.js';
import { type ReadCacheBudget, UNBOUNDED_READ_CACHE } from './read-cache.js';
import type { SegmentBackend, SegmentEntries, SegmentReader, SegmentSpec } from './segment-backend.js';

/** One entry as the builders and merges see it. */
interface Entry {
  hi: number;
  lo: number;
  seq: number;
  position: number;
}

class JsSegmentReader implements SegmentReader {
  private bloom: Buffer | undefined;
  /** Verified internal pages: few (one per 255 leaves) and read by every lookup. */
  private readonly internal = new Map<number, Buffer>();
  // The entry layout of this segment's kind (index-layout.ts).
  private readonly size: number;
  private readonly capacity: number;
  private readonly at: number;
  private readonly hasSeq: boolean;

  constructor(
    readonly path: string,
    private readonly fd: number,
    readonly header: SegmentHeader,
    private readonly cache: ReadCacheBudget,
  ) {
    this.size = entrySize(header.kind);
    this.capacity = leafCapacity(header.kind);
    this.at = entryPositionOffset(header.kind);
    this.hasSeq = header.kind !== SEGMENT_KIND_COMMAND;
  }

  private seqAt(p: Buffer, e: number): number {
    return this.hasSeq ? p.readUInt32LE(e + ENTRY_SEQ_OFFSET) : 0;
  }

  /** Entries or separators on a page, refusing a count that would read past it. */
  private count(p: Buffer, capacity: number): number {
    const n = p.readUInt32LE(0);
    if (n > capacity) throw new CorruptionError(`index segment ${this.path}: page count out of range`);
    return n;
  }

  page(n: number): Buffer {
    const cached = this.internal.get(n);
    if (cached) return cached;
    const p = n > 0 && n < this.header.bloomPage ? readExactly(this.fd, SEGMENT_PAGE_SIZE, n * SEGMENT_PAGE_SIZE) : undefined;
    if (!p || p.readUInt32LE(4) !== crc32c(p, 0, 8, SEGMENT_PAGE_SIZE)) {
      throw new CorruptionError(`index segment ${this.path} at offset ${n * SEGMENT_PAGE_SIZE}: bad page`);
    }
    if (n > this.header.leafCount && this.cache.take(SEGMENT_PAGE_SIZE)) this.internal.set(n, p);
    return p;
  }

  heapBytes(): number {
    return (this.bloom?.length ?? 0) + this.internal.size * SEGMENT_PAGE_SIZE;
  }

  /** With the filter kept once the read-cache budget grants its bytes; without it (the budget
   * full), every key may be here and the lookup searches the pages. */
  mayContain(hi: number, lo: number): boolean {
    if (!this.bloom) {
      if (!this.cache.take(this.header.bloomBytes)) return true;
      const bits = readExactly(this.fd, this.header.bloomBytes, this.header.bloomPage * SEGMENT_PAGE_SIZE);
      if (!bits || crc32c(bits) !== this.header.bloomCrc) {
        this.cache.give(this.header.bloomBytes);
        throw new CorruptionError(`index segment ${this.path} at offset ${this.header.bloomPage * SEGMENT_PAGE_SIZE}: bad Bloom filter`);
      }
      this.bloom = bits;
    }
    return bloomMayContain(this.bloom, hi, lo);
  }

  /** Leaf holding the last entry <= (hi, lo, seq), or < when `strict`; 0 when there is none. */
  private findLeaf(hi: number, lo: number, seq: number, strict: boolean): number {
    if (this.header.height === 0) return 0;
    let page = this.header.rootPage;
    for (let level = this.header.height; level > 1; level--) {
      const p = this.page(page);
      let a = 0;
      let b = this.count(p, INTERNAL_CAPACITY);
      while (a < b) {
        const mid = (a + b) >>> 1;
        const s = 16 + mid * SEGMENT_SEPARATOR_SIZE;
        const c = compareEntry(p.readUInt32LE(s + 4), p.readUInt32LE(s), p.readUInt32LE(s + 8), hi, lo, seq);
        if (strict ? c < 0 : c <= 0) a = mid + 1;
        else b = mid;
      }
      if (a === 0) return 0;
      page = p.readUInt32LE(16 + (a - 1) * SEGMENT_SEPARATOR_SIZE + 12);
    }
    return page;
  }

  findLast(hi: number, lo: number): [number, number] | undefined {
    const leaf = this.findLeaf(hi, lo, 0xffffffff, false);
    if (leaf === 0) return undefined;
    const p = this.page(leaf);
    let a = 0;
    let b = this.count(p, this.capacity);
    while (a < b) {
      const mid = (a + b) >>> 1;
      const e = 8 + mid * this.size;
      if (compareEntry(p.readUInt16LE(e + ENTRY_KEY_HI_OFFSET), p.readUInt32LE(e), this.seqAt(p, e), hi, lo, 0xffffffff) <= 0) a = mid + 1;
      else b = mid;
    }
    if (a === 0) return undefined;
    const e = 8 + (a - 1) * this.size;
    if (p.readUInt16LE(e + ENTRY_KEY_HI_OFFSET) !== hi || p.readUInt32LE(e) !== lo) return undefined;
    return [this.seqAt(p, e), p.readUIntLE(e + this.at, 6)];
  }

  range(hi: number, lo: number, fromSeq: number, toSeq: number): Float64Array {
    const out: number[] = [];
    if (fromSeq > toSeq || this.header.height === 0) return new Float64Array(0);
    // Strictly below: equal (key, seq) pairs of colliding ids may straddle a leaf boundary.
    let first = true;
    for (let leaf = Math.max(1, this.findLeaf(hi, lo, fromSeq, true)); leaf <= this.header.leafCount; leaf++) {
      const p = this.page(leaf);
      const count = this.count(p, this.capacity);
      // The first leaf's part of the range starts anywhere in it: binary-search the start.
      let i = first ? this.lowerBound(p, count, hi, lo, fromSeq) : 0;
      first = false;
      for (; i < count; i++) {
        const e = 8 + i * this.size;
        const c = compareEntry(p.readUInt16LE(e + ENTRY_KEY_HI_OFFSET), p.readUInt32LE(e), 0, hi, lo, 0);
        const seq = this.seqAt(p, e);
        if (c < 0 || (c === 0 && seq < fromSeq)) continue;
        if (c > 0 || seq > toSeq) return Float64Array.from(out);
        out.push(seq, p.readUIntLE(e + this.at, 6));
      }
    }
    return Float64Array.from(out);
  }

  /** Index of the first entry of leaf `p` at or after (key, seq). */
  private lowerBound(p: Buffer, count: number, hi: number, lo: number, seq: number): number {
    let a = 0;
    let b = count;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const e = 8 + mid * this.size;
      if (compareEntry(p.readUInt16LE(e + ENTRY_KEY_HI_OFFSET), p.readUInt32LE(e), this.seqAt(p, e), hi, lo, seq) < 0) a = mid + 1;
      else b = mid;
    }
    return a;
  }

  *entries(): Generator<Entry> {
    for (let leaf = 1; leaf <= this.header.leafCount; leaf++) {
      const p = this.page(leaf);
      const count = this.count(p, this.capacity);
      for (let i = 0; i < count; i++) {
        const e = 8 + i * this.size;
        yield {
          hi: p.readUInt16LE(e + ENTRY_KEY_HI_OFFSET),
          lo: p.readUInt32LE(e),
          seq: this.seqAt(p, e),
          position: p.readUIntLE(e + this.at, 6),
        };
      }
    }
  }

  close(): void {
    this.cache.give(this.heapBytes());
    this.bloom = undefined;
    this.internal.clear();
    fs.closeSync(this.fd);
  }
}

function sealPage(p: Buffer): void {
  p.writeUInt32LE(crc32c(p, 0, 8, SEGMENT_PAGE_SIZE), 4);
}

/** Writes a complete segment file from entries already in (key, seq, position) order; `starts` goes
 * into the header. */
function writeSegment(dir: string, name: string, spec: SegmentSpec, starts: number, entries: Iterable<Entry>): void {
  const file = path.join(dir, name);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w+');
  try {
    const pages: Buffer[] = [];
    let offset = SEGMENT_PAGE_SIZE;
    let nextPage = 1;
    const write = (p: Buffer): number => {
      pages.push(p);
      if (pages.length >= 256) flush();
      return nextPage++;
    };
    const flush = () => {
      const b = Buffer.concat(pages);
      writeFully(fd, b, offset);
      offset += b.length;
      pages.length = 0;
    };
    let level: { hi: number; lo: number; seq: number; child: number }[] = [];
    const keys: [number, number][] = [];
    let page = Buffer.alloc(SEGMENT_PAGE_SIZE);
    let count = 0;
    let entryCount = 0;
    let prev: Entry | undefined;
    let first: Entry | undefined;
    const size = entrySize(spec.kind);
    const capacity = leafCapacity(spec.kind);
    const flushLeaf = () => {
      page.writeUInt32LE(count, 0);
      sealPage(page);
      const f = first as Entry;
      level.push({ hi: f.hi, lo: f.lo, seq: f.seq, child: write(page) });
      page = Buffer.alloc(SEGMENT_PAGE_SIZE);
      count = 0;
    };
    for (const e of entries) {
      if (prev && (compareEntry(prev.hi, prev.lo, prev.seq, e.hi, e.lo, e.seq) || prev.position - e.position) > 0) {
        throw new Error('segment entries are out of order');
      }
      if (!prev || prev.hi !== e.hi || prev.lo !== e.lo) keys.push([e.hi, e.lo]);
      prev = e;
      if (e.position > MAX_SEGMENT_POSITION || e.hi > 0xffff) throw new Error('a key or position past 2^48 does not fit a segment entry');
      if (spec.kind === SEGMENT_KIND_COMMAND && e.seq !== 0) throw new Error('command segment entries have no seq');
      if (count === 0) first = e;
      writeEntry(page, 8 + count * size, spec.kind, e.hi, e.lo, e.seq, e.position);
      entryCount++;
      if (++count === capacity) flushLeaf();
    }
    if (count > 0) flushLeaf();
    const leafCount = level.length;
    let height = level.length === 0 ? 0 : 1;
    while (level.length > 1) {
      const upper: typeof level = [];
      for (let i = 0; i < level.length; i += INTERNAL_CAPACITY) {
        const group = level.slice(i, i + INTERNAL_CAPACITY);
        const p = Buffer.alloc(SEGMENT_PAGE_SIZE);
        p.writeUInt32LE(group.length, 0);
        p.writeUInt32LE(height + 1, 8);
        group.forEach((g, k) => {
          const s = 16 + k * SEGMENT_SEPARATOR_SIZE;
          p.writeUInt32LE(g.lo, s);
          p.writeUInt32LE(g.hi, s + 4);
          p.writeUInt32LE(g.seq, s + 8);
          p.writeUInt32LE(g.child, s + 12);
        });
        sealPage(p);
        const first = group[0] as (typeof level)[number];
        upper.push({ hi: first.hi, lo: first.lo, seq: first.seq, child: write(p) });
      }
      level = upper;
      height++;
    }
    flush();
    const bloomPage = nextPage;
    const bloomBytes = bloomBytesFor(keys.length);
    const bloom = Buffer.alloc(Math.ceil(bloomBytes / SEGMENT_PAGE_SIZE) * SEGMENT_PAGE_SIZE);
    const bits = bloom.subarray(0, bloomBytes);
    for (const [hi, lo] of keys) bloomAdd(bits, hi, lo);
    writeFully(fd, bloom, offset);
    const header: SegmentHeader = {
      kind: spec.kind,
      fromPosition: spec.fromPosition,
      toPosition: spec.toPosition,
      entryCount,
      leafCount,
      rootPage: level[0]?.child ?? 0,
      height,
      bloomPage,
      bloomBytes,
      bloomHashes: BLOOM_HASHES,
      bloomCrc: crc32c(bits),
      distinctKeys: keys.length,
      pageCount: bloomPage + bloom.length / SEGMENT_PAGE_SIZE,
      starts,
    };
    writeFully(fd, encodeSegmentHeader(header), 0);
    fs.fdatasyncSync(fd);
    fs.closeSync(fd);
    replaceFile(tmp, file);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {}
    fs.rmSync(tmp, { force: true });
    throw toAnnalsError(err, `build ${file}: `);
  }
  fsyncDirectory(dir);
}

function* mergeEntries(inputs: JsSegmentReader[]): Generator<Entry> {
  const its = inputs.map((s) => s.entries());
  const heads = its.map((it) => it.next());
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i] as IteratorResult<Entry>;
      if (h.done) continue;
      const b = best >= 0 ? ((heads[best] as IteratorResult<Entry>).value as Entry) : undefined;
      if (!b || (compareEntry(h.value.hi, h.value.lo, h.value.seq, b.hi, b.lo, b.seq) || h.value.position - b.position) < 0) best = i;
    }
    if (best < 0) return;
    yield (heads[best] as IteratorResult<Entry>).value as Entry;
    heads[best] = (its[best] as Generator<Entry>).next();
  }
}

export class JsSegmentBackend implements SegmentBackend {
  /** `cache`: the store's read-cache budget, shared by its segment and directory readers. */
  constructor(private readonly cache: ReadCacheBudget = UNBOUNDED_READ_CACHE()) {}

  open(file: string): SegmentReader {
    const fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const raw = readExactly(fd, SEGMENT_PAGE_SIZE, 0);
    const header = raw && decodeSegmentHeader(raw);
    if (!header || size < header.pageCount * SEGMENT_PAGE_SIZE) {
      fs.closeSync(fd);
      // An intact header of another format version is not damage: say so (it is rebuilt either way).
      if (raw && raw.toString('latin1', 0, 8) === 'ANNALSIX' && raw[8] !== SEGMENT_FORMAT_VERSION) {
        throw new CorruptionError(`index segment ${file} has format version ${raw[8]}, this build reads ${SEGMENT_FORMAT_VERSION}`);
      }
      throw new CorruptionError(`index segment ${file} at offset 0: invalid header`);
    }
    return new JsSegmentReader(file, fd, header, this.cache);
  }

  async build(dir: string, name: string, spec: SegmentSpec, e: SegmentEntries): Promise<void> {
    // A stream's first event has version 1, a command's first event ordinal 0; command segments
    // then drop the ordinal (position order is command order), so they sort by (key, position).
    // Category and type segments count no starts.
    const startSeq = spec.kind === SEGMENT_KIND_STREAM ? 1 : spec.kind === SEGMENT_KIND_COMMAND ? 0 : -1;
    const command = spec.kind === SEGMENT_KIND_COMMAND;
    let starts = 0;
    const entries: Entry[] = Array.from({ length: e.hi.length }, (_, i) => {
      const seq = e.seq[i] as number;
      if (seq === startSeq) starts++;
      return { hi: e.hi[i] as number, lo: e.lo[i] as number, seq: command ? 0 : seq, position: e.position[i] as number };
    });
    entries.sort((a, b) => compareEntry(a.hi, a.lo, a.seq, b.hi, b.lo, b.seq) || a.position - b.position);
    writeSegment(dir, name, spec, starts, entries);
  }

  async merge(dir: string, name: string, spec: SegmentSpec, inputs: SegmentReader[]): Promise<void> {
    // The inputs partition the log range: each start is in exactly one of them.
    const starts = inputs.reduce((n, s) => n + s.header.starts, 0);
    writeSegment(dir, name, spec, starts, mergeEntries(inputs as JsSegmentReader[]));
  }
}
