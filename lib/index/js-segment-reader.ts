/**
 * The JS engine's reader of index segment files (the same files as native/index_segment*.cc;
 * layout in lib/format/index-layout.ts): read page by page with pread, each page CRC-checked
 * before use; the internal pages and the Bloom filter are kept once read, within the store's
 * read-cache budget.
 */
import fs from 'node:fs';
import { readExactly, readInto } from '../engine/js-chunk-file.js';
import { CorruptionError } from '../errors.js';
import { crc32c } from '../format/crc32c.js';
import {
  bloomMayContain,
  compareEntry,
  decodeSegmentHeader,
  ENTRY_KEY_HI_OFFSET,
  ENTRY_SEQ_OFFSET,
  entryPositionOffset,
  entrySize,
  INTERNAL_CAPACITY,
  leafCapacity,
  SEGMENT_FORMAT_VERSION,
  SEGMENT_KIND_COMMAND,
  SEGMENT_PAGE_SIZE,
  SEGMENT_SEPARATOR_SIZE,
  type SegmentHeader,
} from '../format/index-layout.js';
import type { ReadCacheBudget } from './read-cache.js';
import type { SegmentReader } from './segment-backend.js';
import { VerifiedPages } from './verified-pages.js';

/** Entries one at a time, in (key, seq, position) order: the current one's fields, valid after
 * next() returned true. Builds and merges read their entries through one, without an object per
 * entry. */
export interface EntryCursor {
  hi: number;
  lo: number;
  seq: number;
  position: number;
  /** Moves to the next entry; false past the last. */
  next(): boolean;
}

export class JsSegmentReader implements SegmentReader {
  private bloom: Buffer | undefined;
  /** Verified internal pages: few (one per 255 leaves) and read by every lookup. */
  private readonly internal = new Map<number, Buffer>();
  /** Pages that passed their CRC check once (a leaf read again is not checked again). */
  private readonly verified: VerifiedPages;
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
    this.verified = new VerifiedPages(header.pageCount);
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

  /** Page `n`, CRC-checked; read into `into` when given (a leaf a merge reads once: not kept). */
  page(n: number, into?: Buffer): Buffer {
    const cached = this.internal.get(n);
    if (cached) return cached;
    let p: Buffer | undefined;
    if (n > 0 && n < this.header.bloomPage) {
      const at = n * SEGMENT_PAGE_SIZE;
      p = into ? (readInto(this.fd, into, SEGMENT_PAGE_SIZE, at) ? into : undefined) : readExactly(this.fd, SEGMENT_PAGE_SIZE, at);
    }
    if (!p || (!this.verified.has(n) && p.readUInt32LE(4) !== crc32c(p, 0, 8, SEGMENT_PAGE_SIZE))) {
      throw new CorruptionError(`index segment ${this.path} at offset ${n * SEGMENT_PAGE_SIZE}: bad page`);
    }
    this.verified.add(n);
    if (!into && n > this.header.leafCount && this.cache.take(SEGMENT_PAGE_SIZE)) this.internal.set(n, p);
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

  /** Every entry in file order, read leaf by leaf (each page CRC-checked): a merge's input.
   * `into`: a page-sized buffer the leaves are read into, one after the other. */
  cursor(into?: Buffer): EntryCursor {
    return new LeafCursor(this, this.header.leafCount, this.size, this.at, this.hasSeq, into);
  }

  /** Leaf `n` (read into `into` when given) and its entry count. */
  leaf(n: number, into?: Buffer): [Buffer, number] {
    const p = this.page(n, into);
    return [p, this.count(p, this.capacity)];
  }

  close(): void {
    this.cache.give(this.heapBytes());
    this.bloom = undefined;
    this.internal.clear();
    fs.closeSync(this.fd);
  }
}

/** A segment's entries leaf by leaf (JsSegmentReader.cursor). */
class LeafCursor implements EntryCursor {
  hi = 0;
  lo = 0;
  seq = 0;
  position = 0;
  private leafNo = 0;
  private page: Buffer | undefined;
  private count = 0;
  private i = 0;

  constructor(
    private readonly reader: JsSegmentReader,
    private readonly leafCount: number,
    private readonly size: number,
    private readonly at: number,
    private readonly hasSeq: boolean,
    private readonly into: Buffer | undefined,
  ) {}

  next(): boolean {
    while (this.i >= this.count) {
      if (this.leafNo >= this.leafCount) return false;
      [this.page, this.count] = this.reader.leaf(++this.leafNo, this.into);
      this.i = 0;
    }
    const p = this.page as Buffer;
    const e = 8 + this.i++ * this.size;
    this.hi = p.readUInt16LE(e + ENTRY_KEY_HI_OFFSET);
    this.lo = p.readUInt32LE(e);
    this.seq = this.hasSeq ? p.readUInt32LE(e + ENTRY_SEQ_OFFSET) : 0;
    this.position = p.readUIntLE(e + this.at, 6);
    return true;
  }
}

/** Opens a segment file, checking its header and size. */
export function openJsSegment(file: string, cache: ReadCacheBudget): JsSegmentReader {
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
  return new JsSegmentReader(file, fd, header, cache);
}
