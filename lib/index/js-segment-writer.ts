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
import type { EntryCursor, JsSegmentReader } from './js-segment-reader.js';
import type { SegmentEntries, SegmentSpec } from './segment-backend.js';

/** Pages written to the file in one write. */
const PAGES_PER_WRITE = 256;

interface Separator {
  hi: number;
  lo: number;
  seq: number;
  child: number;
}

function sealPage(p: Buffer): void {
  p.writeUInt32LE(crc32c(p, 0, 8, SEGMENT_PAGE_SIZE), 4);
}

/** Appends pages after the header page, PAGES_PER_WRITE at a time. */
class PageWriter {
  private readonly pages: Buffer[] = [];
  offset = SEGMENT_PAGE_SIZE;
  nextPage = 1;

  constructor(private readonly fd: number) {}

  /** Queues a page; its page number. */
  write(p: Buffer): number {
    this.pages.push(p);
    if (this.pages.length >= PAGES_PER_WRITE) this.flush();
    return this.nextPage++;
  }

  flush(): void {
    const b = Buffer.concat(this.pages);
    writeFully(this.fd, b, this.offset);
    this.offset += b.length;
    this.pages.length = 0;
  }
}

/** Writes the leaves; the first entry of each leaf (its separator) and the distinct keys. */
function writeLeaves(
  out: PageWriter,
  kind: SegmentSpec['kind'],
  e: EntryCursor,
): { level: Separator[]; keys: number[]; entryCount: number } {
  const level: Separator[] = [];
  const keys: number[] = []; // hi, lo of each distinct key
  const size = entrySize(kind);
  const capacity = leafCapacity(kind);
  let page = Buffer.alloc(SEGMENT_PAGE_SIZE);
  let count = 0;
  let entryCount = 0;
  let first: Separator = { hi: 0, lo: 0, seq: 0, child: 0 };
  const flushLeaf = () => {
    page.writeUInt32LE(count, 0);
    sealPage(page);
    first.child = out.write(page);
    level.push(first);
    page = Buffer.alloc(SEGMENT_PAGE_SIZE);
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
    if (entryCount === 0 || hi !== e.hi || lo !== e.lo) keys.push(e.hi, e.lo);
    ({ hi, lo, seq, position } = e);
    if (position > MAX_SEGMENT_POSITION || hi > 0xffff) throw new Error('a key or position past 2^48 does not fit a segment entry');
    if (kind === SEGMENT_KIND_COMMAND && seq !== 0) throw new Error('command segment entries have no seq');
    if (count === 0) first = { hi, lo, seq, child: 0 };
    writeEntry(page, 8 + count * size, kind, hi, lo, seq, position);
    entryCount++;
    if (++count === capacity) flushLeaf();
  }
  if (count > 0) flushLeaf();
  return { level, keys, entryCount };
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
      const first = group[0] as Separator;
      upper.push({ hi: first.hi, lo: first.lo, seq: first.seq, child: out.write(p) });
    }
    level = upper;
    height++;
  }
  return { level, height };
}

/** Writes the whole segment file into the open temporary file. */
function writeFile(fd: number, spec: SegmentSpec, starts: number, entries: EntryCursor): void {
  const out = new PageWriter(fd);
  const { level: leaves, keys, entryCount } = writeLeaves(out, spec.kind, entries);
  const { level, height } = writeInternal(out, leaves);
  out.flush();
  const bloomPage = out.nextPage;
  const distinctKeys = keys.length / 2;
  const bloomBytes = bloomBytesFor(distinctKeys);
  const bloom = Buffer.alloc(Math.ceil(bloomBytes / SEGMENT_PAGE_SIZE) * SEGMENT_PAGE_SIZE);
  const bits = bloom.subarray(0, bloomBytes);
  for (let i = 0; i < keys.length; i += 2) bloomAdd(bits, keys[i] as number, keys[i + 1] as number);
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
export function writeSegment(dir: string, name: string, spec: SegmentSpec, starts: number, entries: EntryCursor): void {
  const file = path.join(dir, name);
  const tmp = `${file}.tmp`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w+');
    writeFile(fd, spec, starts, entries);
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

/** Unsorted entries in (key, seq, position) order, through an index permutation sorted once
 * (command entries with seq 0: position order is command order). */
class SortedEntries implements EntryCursor {
  hi = 0;
  lo = 0;
  seq = 0;
  position = 0;
  private readonly order: Uint32Array;
  private i = 0;

  constructor(
    private readonly e: SegmentEntries,
    private readonly command: boolean,
  ) {
    const { hi, lo, seq, position } = e;
    this.order = new Uint32Array(hi.length);
    for (let i = 0; i < hi.length; i++) this.order[i] = i;
    // Differences of 32-bit values and of positions below 2^53 are exact: the sign is the order.
    if (command)
      this.order.sort(
        (a, b) =>
          (hi[a] as number) - (hi[b] as number) ||
          (lo[a] as number) - (lo[b] as number) ||
          (position[a] as number) - (position[b] as number),
      );
    else {
      this.order.sort(
        (a, b) =>
          (hi[a] as number) - (hi[b] as number) ||
          (lo[a] as number) - (lo[b] as number) ||
          (seq[a] as number) - (seq[b] as number) ||
          (position[a] as number) - (position[b] as number),
      );
    }
  }

  next(): boolean {
    if (this.i >= this.order.length) return false;
    const k = this.order[this.i++] as number;
    this.hi = this.e.hi[k] as number;
    this.lo = this.e.lo[k] as number;
    this.seq = this.command ? 0 : (this.e.seq[k] as number);
    this.position = this.e.position[k] as number;
    return true;
  }
}

/** Builds `dir/name` from unsorted entries. */
export function buildSegmentFile(dir: string, name: string, spec: SegmentSpec, e: SegmentEntries): void {
  // A stream's first event has version 1, a command's first event ordinal 0; command segments
  // then drop the ordinal. Category and type segments count no starts.
  const startSeq = spec.kind === SEGMENT_KIND_STREAM ? 1 : spec.kind === SEGMENT_KIND_COMMAND ? 0 : -1;
  let starts = 0;
  for (let i = 0; i < e.seq.length; i++) if (e.seq[i] === startSeq) starts++;
  writeSegment(dir, name, spec, starts, new SortedEntries(e, spec.kind === SEGMENT_KIND_COMMAND));
}

/** The inputs' entries merged in order; of equal entries, the earlier input's first. */
class MergedEntries implements EntryCursor {
  hi = 0;
  lo = 0;
  seq = 0;
  position = 0;
  /** Inputs with a current entry. */
  private readonly live: EntryCursor[];
  private current: EntryCursor | undefined;

  constructor(inputs: EntryCursor[]) {
    this.live = inputs.filter((c) => c.next());
  }

  next(): boolean {
    const c = this.current;
    if (c && !c.next()) this.live.splice(this.live.indexOf(c), 1);
    let best: EntryCursor | undefined;
    for (const h of this.live) {
      if (!best || (compareEntry(h.hi, h.lo, h.seq, best.hi, best.lo, best.seq) || h.position - best.position) < 0) best = h;
    }
    this.current = best;
    if (!best) return false;
    ({ hi: this.hi, lo: this.lo, seq: this.seq, position: this.position } = best);
    return true;
  }
}

/** Merges segments into `dir/name`. The inputs partition the log range: each start is in
 * exactly one of them. */
export function mergeSegmentFiles(dir: string, name: string, spec: SegmentSpec, inputs: JsSegmentReader[]): void {
  const starts = inputs.reduce((n, s) => n + s.header.starts, 0);
  writeSegment(dir, name, spec, starts, new MergedEntries(inputs.map((s) => s.cursor())));
}
