/**
 * The JS engine's writer of index segment files (layout in lib/format/index-layout.ts; the same
 * bytes as native/index_segment_builder.cc): leaves of entries in (key, seq, position) order, the
 * internal levels above them, the Bloom filter of the distinct keys, then the header at offset 0.
 * Written to `<name>.tmp`, fdatasync'd, renamed over `<name>`, and the directory synced: a segment
 * is either whole under its name or absent. Runs in the segment worker (segment-worker.ts), or on
 * the event loop where no worker runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFully } from '../engine/js-chunk-file.js';
import { toAnnalsError } from '../errors.js';
import { crc32c } from '../format/crc32c.js';
import {
  BLOOM_HASHES,
  bloomAdd,
  bloomBytesFor,
  compareEntry,
  encodeSegmentHeader,
  entrySize,
  INTERNAL_CAPACITY,
  leafCapacity,
  MAX_SEGMENT_POSITION,
  SEGMENT_KIND_COMMAND,
  SEGMENT_KIND_STREAM,
  SEGMENT_PAGE_SIZE,
  SEGMENT_SEPARATOR_SIZE,
  type SegmentHeader,
  writeEntry,
} from '../format/index-layout.js';
import { fsyncDirectory, replaceFile } from '../fs-durable.js';
import { MergedEntries, SortedEntries } from './js-segment-entries.js';
import type { EntryCursor, JsSegmentReader } from './js-segment-reader.js';
import type { SegmentEntries, SegmentSpec } from './segment-backend.js';

/** Pages written to the file in one write. */
const PAGES_PER_WRITE = 256;

/**
 * Buffers builds and merges reuse from one to the next (the segment worker keeps one for its
 * life): a thread that allocates few objects collects its garbage late, and array buffers left to
 * it would pile up by tens of MiB. Holds the largest build's permutation (4 bytes an entry), one
 * write's pages and one page per merge input.
 */
export class WriterScratch {
  private order = new Uint32Array(0);
  private spare = new Uint32Array(0);
  /** The distinct keys of the segment being written, hi and lo: `keyCount` of them. */
  keys = new Uint32Array(2048);
  keyCount = 0;
  readonly chunk = Buffer.alloc(PAGES_PER_WRITE * SEGMENT_PAGE_SIZE);
  private readonly leaves: Buffer[] = [];

  /** The identity permutation of `n` entries, and room for as many to sort it with. */
  orderOf(n: number): [Uint32Array, Uint32Array] {
    if (this.order.length < n) {
      this.order = new Uint32Array(Math.ceil(n * 1.25));
      this.spare = new Uint32Array(this.order.length);
    }
    const order = this.order.subarray(0, n);
    for (let i = 0; i < n; i++) order[i] = i;
    return [order, this.spare.subarray(0, n)];
  }

  addKey(hi: number, lo: number): void {
    if (this.keyCount * 2 === this.keys.length) {
      const grown = new Uint32Array(this.keys.length * 2);
      grown.set(this.keys);
      this.keys = grown;
    }
    this.keys[this.keyCount * 2] = hi;
    this.keys[this.keyCount * 2 + 1] = lo;
    this.keyCount++;
  }

  /** A page-sized buffer for merge input `i`. */
  leaf(i: number): Buffer {
    for (let k = this.leaves.length; k <= i; k++) this.leaves.push(Buffer.alloc(SEGMENT_PAGE_SIZE));
    return this.leaves[i] as Buffer;
  }
}

interface Separator {
  hi: number;
  lo: number;
  seq: number;
  child: number;
}

function sealPage(p: Buffer): void {
  p.writeUInt32LE(crc32c(p, 0, 8, SEGMENT_PAGE_SIZE), 4);
}

/** Appends pages after the header page, filled in place in one buffer of PAGES_PER_WRITE pages
 * written out whenever it is full: a build allocates no page of its own. */
class PageWriter {
  private readonly chunk: Buffer;
  /** Pages of `chunk` sealed and not written yet. */
  private used = 0;
  offset = SEGMENT_PAGE_SIZE;
  nextPage = 1;

  constructor(
    private readonly fd: number,
    scratch: WriterScratch,
  ) {
    this.chunk = scratch.chunk.fill(0);
  }

  /** The zeroed page to fill next, valid until it is sealed. */
  page(): Buffer {
    return this.chunk.subarray(this.used * SEGMENT_PAGE_SIZE, (this.used + 1) * SEGMENT_PAGE_SIZE);
  }

  /** Seals the page page() gave (its CRC); its page number. */
  seal(): number {
    sealPage(this.page());
    if (++this.used === PAGES_PER_WRITE) this.flush();
    return this.nextPage++;
  }

  flush(): void {
    if (this.used === 0) return;
    const bytes = this.used * SEGMENT_PAGE_SIZE;
    writeFully(this.fd, this.chunk.subarray(0, bytes), this.offset);
    this.offset += bytes;
    this.used = 0;
    this.chunk.fill(0, 0, bytes);
  }
}

/** Writes the leaves; the first entry of each leaf (its separator) and the distinct keys. */
function writeLeaves(
  out: PageWriter,
  kind: SegmentSpec['kind'],
  e: EntryCursor,
  keys: WriterScratch,
): { level: Separator[]; entryCount: number } {
  const level: Separator[] = [];
  keys.keyCount = 0;
  const size = entrySize(kind);
  const capacity = leafCapacity(kind);
  let page = out.page();
  let count = 0;
  let entryCount = 0;
  let first: Separator = { hi: 0, lo: 0, seq: 0, child: 0 };
  const flushLeaf = () => {
    page.writeUInt32LE(count, 0);
    first.child = out.seal();
    level.push(first);
    page = out.page();
    count = 0;
  };
  let hi = 0;
  let lo = 0;
  let seq = 0;
  let position = 0;
  while (e.next()) {
    if (entryCount > 0 && (compareEntry(hi, lo, seq, e.hi, e.lo, e.seq) || position - e.position) > 0) {
      throw new Error('segment entries are out of order');
    }
    if (entryCount === 0 || hi !== e.hi || lo !== e.lo) keys.addKey(e.hi, e.lo);
    ({ hi, lo, seq, position } = e);
    if (position > MAX_SEGMENT_POSITION || hi > 0xffff) throw new Error('a key or position past 2^48 does not fit a segment entry');
    if (kind === SEGMENT_KIND_COMMAND && seq !== 0) throw new Error('command segment entries have no seq');
    if (count === 0) first = { hi, lo, seq, child: 0 };
    writeEntry(page, 8 + count * size, kind, hi, lo, seq, position);
    entryCount++;
    if (++count === capacity) flushLeaf();
  }
  if (count > 0) flushLeaf();
  return { level, entryCount };
}

/** Writes the internal levels above the leaves; the root's separator list (one, or none) and the
 * tree's height. */
function writeInternal(out: PageWriter, leaves: Separator[]): { level: Separator[]; height: number } {
  let level = leaves;
  let height = level.length === 0 ? 0 : 1;
  while (level.length > 1) {
    const upper: Separator[] = [];
    for (let i = 0; i < level.length; i += INTERNAL_CAPACITY) {
      const group = level.slice(i, i + INTERNAL_CAPACITY);
      const p = out.page();
      p.writeUInt32LE(group.length, 0);
      p.writeUInt32LE(height + 1, 8);
      group.forEach((g, k) => {
        const s = 16 + k * SEGMENT_SEPARATOR_SIZE;
        p.writeUInt32LE(g.lo, s);
        p.writeUInt32LE(g.hi, s + 4);
        p.writeUInt32LE(g.seq, s + 8);
        p.writeUInt32LE(g.child, s + 12);
      });
      const first = group[0] as Separator;
      upper.push({ hi: first.hi, lo: first.lo, seq: first.seq, child: out.seal() });
    }
    level = upper;
    height++;
  }
  return { level, height };
}

/** Writes the whole segment file into the open temporary file. */
function writeFile(fd: number, spec: SegmentSpec, starts: number, entries: EntryCursor, scratch: WriterScratch): void {
  const out = new PageWriter(fd, scratch);
  const { level: leaves, entryCount } = writeLeaves(out, spec.kind, entries, scratch);
  const { level, height } = writeInternal(out, leaves);
  out.flush();
  const bloomPage = out.nextPage;
  const distinctKeys = scratch.keyCount;
  const keys = scratch.keys;
  const bloomBytes = bloomBytesFor(distinctKeys);
  const bloom = Buffer.alloc(Math.ceil(bloomBytes / SEGMENT_PAGE_SIZE) * SEGMENT_PAGE_SIZE);
  const bits = bloom.subarray(0, bloomBytes);
  for (let i = 0; i < distinctKeys * 2; i += 2) bloomAdd(bits, keys[i] as number, keys[i + 1] as number);
  writeFully(fd, bloom, out.offset);
  const header: SegmentHeader = {
    kind: spec.kind,
    fromPosition: spec.fromPosition,
    toPosition: spec.toPosition,
    entryCount,
    leafCount: leaves.length,
    rootPage: level[0]?.child ?? 0,
    height,
    bloomPage,
    bloomBytes,
    bloomHashes: BLOOM_HASHES,
    bloomCrc: crc32c(bits),
    distinctKeys,
    pageCount: bloomPage + bloom.length / SEGMENT_PAGE_SIZE,
    starts,
  };
  writeFully(fd, encodeSegmentHeader(header), 0);
}

/** Writes `dir/name` from entries already in (key, seq, position) order; `starts` goes into the
 * header. Temporary file, fdatasync, rename, directory sync. */
export function writeSegment(
  dir: string,
  name: string,
  spec: SegmentSpec,
  starts: number,
  entries: EntryCursor,
  scratch = new WriterScratch(),
): void {
  const file = path.join(dir, name);
  const tmp = `${file}.tmp`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w+');
    writeFile(fd, spec, starts, entries, scratch);
    fs.fdatasyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    replaceFile(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {}
    }
    fs.rmSync(tmp, { force: true });
    throw toAnnalsError(err, `build ${file}: `);
  }
  fsyncDirectory(dir);
}

/** Builds `dir/name` from unsorted entries. */
export function buildSegmentFile(dir: string, name: string, spec: SegmentSpec, e: SegmentEntries, scratch = new WriterScratch()): void {
  // A stream's first event has version 1, a command's first event ordinal 0; command segments
  // then drop the ordinal. Category and type segments count no starts.
  const startSeq = spec.kind === SEGMENT_KIND_STREAM ? 1 : spec.kind === SEGMENT_KIND_COMMAND ? 0 : -1;
  let starts = 0;
  for (let i = 0; i < e.seq.length; i++) if (e.seq[i] === startSeq) starts++;
  writeSegment(dir, name, spec, starts, new SortedEntries(e, spec.kind === SEGMENT_KIND_COMMAND, scratch), scratch);
}

/** Merges segments into `dir/name`. The inputs partition the log range: each start is in
 * exactly one of them. */
export function mergeSegmentFiles(
  dir: string,
  name: string,
  spec: SegmentSpec,
  inputs: JsSegmentReader[],
  scratch = new WriterScratch(),
): void {
  const starts = inputs.reduce((n, s) => n + s.header.starts, 0);
  writeSegment(dir, name, spec, starts, new MergedEntries(inputs.map((s, i) => s.cursor(scratch.leaf(i)))), scratch);
}
