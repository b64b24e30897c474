/**
 * Reads one stream directory file with pread, page by page: the twin of
 * native/directory_reader.cc. Every page is CRC-checked when read (internal pages, few and read by
 * every search, are kept once checked), every length, offset and page number read is checked
 * against its page or the file, and ids are checked to ascend as they are read: a damaged file is a
 * CorruptionError naming the file and the page's offset, never a wrong entry.
 */
import fs from 'node:fs';
import { readExactly } from '../engine/js-chunk-file.js';
import { CorruptionError, InvalidArgumentError } from '../errors.js';
import {
  chunkBytes,
  DIRECTORY_ENTRY_FIXED_SIZE,
  DIRECTORY_MAX_PAGE_LIMIT,
  DIRECTORY_PAGE_HEADER_SIZE,
  DIRECTORY_PAGE_INTERNAL,
  DIRECTORY_PAGE_LEAF,
  DIRECTORY_PAGE_OVERFLOW,
  DIRECTORY_PAGE_SIZE,
  DIRECTORY_SEPARATOR_FIXED_SIZE,
  type DirectoryHeader,
  directoryPageCrcValid,
  inlineBytes,
  overflowPages,
  overflows,
  slotAt,
} from '../format/directory-layout.js';
import type { DirectoryEntry, DirectoryReader } from './directory-backend.js';
import type { DirectoryValues } from './js-directory-writer.js';
import type { ReadCacheBudget } from './read-cache.js';
import { VerifiedPages } from './verified-pages.js';

/** An id or separator as stored: `length` bytes, the first inlineBytes(length) at `head` of `page`,
 * the rest on the overflow pages from `overflow`; its record starts at `at`. */
interface StoredKey {
  page: Buffer;
  at: number;
  head: number;
  length: number;
  overflow: number;
}

/** An entry as read: the id's bytes and its values. */
export interface RawEntry extends DirectoryValues {
  id: Buffer;
}

/** Internal pages kept once read and checked (each names up to hundreds of leaves), while the
 * store's read-cache budget (read-cache.ts) grants their bytes. */
const MAX_CACHED_PAGES = 4096;

export class JsDirectoryReader implements DirectoryReader {
  private readonly cache = new Map<number, Buffer>();
  /** Pages that passed their CRC check once (a leaf read again is not checked again). */
  private readonly verified: VerifiedPages;

  constructor(
    readonly path: string,
    private readonly fd: number,
    readonly header: DirectoryHeader,
    private readonly budget: ReadCacheBudget,
  ) {
    this.verified = new VerifiedPages(header.pageCount);
  }

  page(after: string | undefined, prefix: string | undefined, limit: number): DirectoryEntry[] {
    if (!Number.isInteger(limit) || limit < 0 || limit > DIRECTORY_MAX_PAGE_LIMIT) {
      throw new InvalidArgumentError(`limit must be an integer from 0 to ${DIRECTORY_MAX_PAGE_LIMIT}`);
    }
    stringOrUndefined(after, 'after');
    stringOrUndefined(prefix, 'prefix');
    const out: DirectoryEntry[] = [];
    if (limit === 0 || this.header.height === 0) return out;
    const pre = Buffer.from(prefix ?? '', 'utf8');
    const aft = after === undefined ? undefined : Buffer.from(after, 'utf8');
    // Ids with the prefix are the ones from `prefix` on that start with it: start at the prefix, or
    // just past `after` when that is further.
    const strict = aft !== undefined && Buffer.compare(aft, pre) >= 0;
    const cursor = new JsDirectoryCursor(this);
    cursor.seek(strict ? (aft as Buffer) : pre, strict);
    while (out.length < limit) {
      const e = cursor.next();
      if (!e || e.id.length < pre.length || e.id.compare(pre, 0, pre.length, 0, pre.length) !== 0) break;
      out.push(toEntry(e));
    }
    return out;
  }

  get(streamId: string): DirectoryEntry | undefined {
    if (typeof streamId !== 'string') throw new InvalidArgumentError('streamId must be a string');
    if (this.header.height === 0) return undefined;
    const id = Buffer.from(streamId, 'utf8');
    const leaf = this.findLeaf(id);
    const p = this.readPage(leaf, DIRECTORY_PAGE_LEAF, 0);
    const count = this.itemCount(p, leaf);
    const i = this.lowerBound(p, leaf, count, id, false);
    if (i === count) return undefined;
    const key = this.entryAt(p, leaf, count, i);
    if (this.compare(key, id) !== 0) return undefined;
    return { streamId, ...this.valuesOf(key, leaf) };
  }

  close(): void {
    this.budget.give(this.cache.size * DIRECTORY_PAGE_SIZE);
    this.cache.clear();
    fs.closeSync(this.fd);
  }

  damaged(page: number, what: string): never {
    throw new CorruptionError(`stream directory ${this.path} at offset ${page * DIRECTORY_PAGE_SIZE}: ${what}`);
  }

  /** Page `n`, checked to be a page of `type` at `level` (and its CRC). */
  readPage(n: number, type: number, level: number): Buffer {
    if (n === 0 || n >= this.header.pageCount) this.damaged(n, 'page number out of range');
    let p = this.cache.get(n);
    if (!p) {
      p = readExactly(this.fd, DIRECTORY_PAGE_SIZE, n * DIRECTORY_PAGE_SIZE);
      if (!p || (!this.verified.has(n) && !directoryPageCrcValid(p))) this.damaged(n, 'bad page');
      this.verified.add(n);
      if (p[4] === DIRECTORY_PAGE_INTERNAL && this.cache.size < MAX_CACHED_PAGES && this.budget.take(DIRECTORY_PAGE_SIZE))
        this.cache.set(n, p);
    }
    if (p[4] !== type || p[5] !== level) this.damaged(n, 'unexpected page type or level');
    return p;
  }

  /** Entries or separators on leaf or internal page `n` (at least one). */
  itemCount(p: Buffer, n: number): number {
    const count = p.readUInt16LE(6);
    if (count === 0 || DIRECTORY_PAGE_HEADER_SIZE + 2 * count > DIRECTORY_PAGE_SIZE) this.damaged(n, 'item count out of range');
    return count;
  }

  private keyAt(p: Buffer, n: number, count: number, i: number, fixed: number, lengthAt: number): StoredKey {
    // Items lie between the page header and the slot array.
    const end = slotAt(count - 1);
    const at = p.readUInt16LE(slotAt(i));
    if (at < DIRECTORY_PAGE_HEADER_SIZE || at + fixed > end) this.damaged(n, 'slot out of range');
    const length = p.readUInt16LE(at + lengthAt);
    const head = inlineBytes(length);
    if (at + fixed + head + (overflows(length) ? 4 : 0) > end || length > this.header.longestId)
      this.damaged(n, 'item length out of range');
    let overflow = 0;
    if (overflows(length)) {
      overflow = p.readUInt32LE(at + fixed + head);
      if (overflow === 0 || overflow + overflowPages(length) > this.header.pageCount) this.damaged(n, 'overflow page out of range');
    }
    return { page: p, at, head: at + fixed, length, overflow };
  }

  entryAt(p: Buffer, n: number, count: number, i: number): StoredKey {
    return this.keyAt(p, n, count, i, DIRECTORY_ENTRY_FIXED_SIZE, 0);
  }

  private separatorAt(p: Buffer, n: number, count: number, i: number): StoredKey {
    return this.keyAt(p, n, count, i, DIRECTORY_SEPARATOR_FIXED_SIZE, 4);
  }

  valuesOf(key: StoredKey, n: number): DirectoryValues {
    const p = key.page;
    const v = key.at + 2;
    const values = {
      firstVersion: p.readUInt32LE(v),
      lastVersion: p.readUInt32LE(v + 4),
      firstPosition: p.readUIntLE(v + 8, 6),
      lastPosition: p.readUIntLE(v + 14, 6),
    };
    if (values.firstVersion > values.lastVersion || values.firstPosition > values.lastPosition) {
      this.damaged(n, "entry's first and last disagree");
    }
    return values;
  }

  private overflowChunk(n: number, bytes: number): Buffer {
    const p = this.readPage(n, DIRECTORY_PAGE_OVERFLOW, 0);
    if (p.readUInt16LE(6) !== bytes) this.damaged(n, 'overflow length out of range');
    return p.subarray(DIRECTORY_PAGE_HEADER_SIZE, DIRECTORY_PAGE_HEADER_SIZE + bytes);
  }

  /** Three-way comparison of a stored key with `target`, by bytes. */
  compare(key: StoredKey, target: Buffer): number {
    let pos = 0; // bytes of both that compared equal so far
    const step = (bytes: Buffer, start: number, n: number): number => {
      const m = Math.min(n, target.length - pos);
      const c = bytes.compare(target, pos, pos + m, start, start + m);
      if (c !== 0) return c;
      pos += m;
      return m < n ? 1 : 0; // the target ended inside the key
    };
    let c = step(key.page, key.head, inlineBytes(key.length));
    for (let j = 0; c === 0 && j < overflowPages(key.length) && pos < target.length; j++) {
      const bytes = chunkBytes(key.length, j);
      c = step(this.overflowChunk(key.overflow + j, bytes), 0, bytes);
    }
    if (c !== 0) return c;
    return key.length < target.length ? -1 : key.length > target.length ? 1 : 0;
  }

  readKey(key: StoredKey): Buffer {
    const head = key.page.subarray(key.head, key.head + inlineBytes(key.length));
    if (!overflows(key.length)) return Buffer.from(head);
    const parts = [head];
    for (let j = 0; j < overflowPages(key.length); j++) parts.push(this.overflowChunk(key.overflow + j, chunkBytes(key.length, j)));
    return Buffer.concat(parts);
  }

  /** The leaf to search for `target`: its entries before it are <= target, those after > target. */
  findLeaf(target: Buffer): number {
    let page = this.header.rootPage;
    for (let level = this.header.height - 1; level > 0; level--) {
      const p = this.readPage(page, DIRECTORY_PAGE_INTERNAL, level);
      const count = this.itemCount(p, page);
      // The last separator <= target (the first child when none is).
      let lo = 0;
      let hi = count;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.compare(this.separatorAt(p, page, count, mid), target) <= 0) lo = mid + 1;
        else hi = mid;
      }
      page = p.readUInt32LE(this.separatorAt(p, page, count, lo === 0 ? 0 : lo - 1).at);
    }
    return page;
  }

  /** First entry of leaf `n` not below `target` (above it when `strict`); `count` when none. */
  lowerBound(p: Buffer, n: number, count: number, target: Buffer, strict: boolean): number {
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.compare(this.entryAt(p, n, count, mid), target);
      if (c < 0 || (strict && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Every entry in order, checking the walk meets the header's entry count: a merge's input. */
  *entries(): Generator<RawEntry> {
    const cursor = new JsDirectoryCursor(this);
    for (let e = cursor.next(); e; e = cursor.next()) yield e;
  }
}

/** As the addon checks its arguments: a caller passing anything else gets INVALID_ARGUMENT from both. */
function stringOrUndefined(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'string') throw new InvalidArgumentError(`${name} must be a string`);
}

function toEntry(e: RawEntry): DirectoryEntry {
  return {
    streamId: e.id.toString('utf8'),
    firstVersion: e.firstVersion,
    lastVersion: e.lastVersion,
    firstPosition: e.firstPosition,
    lastPosition: e.lastPosition,
  };
}

/** Walks a directory's entries in order along the leaf chain, checking that ids ascend (the twin of
 * DirectoryCursor). */
class JsDirectoryCursor {
  private leaf = 0;
  private page: Buffer | undefined;
  private slot = 0;
  private count = 0;
  private leaves = 0;
  private entries = 0;
  private started = false;
  private fromStart = true;
  /** The last id returned, or the seek's bound (inclusive when `floorInclusive`). */
  private floor: Buffer | undefined;
  private floorInclusive = false;

  constructor(private readonly dir: JsDirectoryReader) {}

  /** Moves to just before the first entry >= bound (> bound when `strict`). */
  seek(bound: Buffer, strict: boolean): void {
    this.started = true;
    this.fromStart = false;
    if (this.dir.header.height === 0) return;
    this.load(this.dir.findLeaf(bound));
    this.slot = this.dir.lowerBound(this.page as Buffer, this.leaf, this.count, bound, strict);
    this.floor = bound;
    this.floorInclusive = !strict;
  }

  next(): RawEntry | undefined {
    const h = this.dir.header;
    if (!this.started) {
      this.started = true;
      if (h.height > 0) this.load(h.firstLeaf);
    }
    while (this.slot === this.count) {
      const next = this.page ? this.page.readUInt32LE(8) : 0;
      if (next === 0) {
        if (this.fromStart && this.entries !== h.entryCount)
          this.dir.damaged(this.leaf, 'the leaves hold another number of entries than the header says');
        return undefined;
      }
      if (next <= this.leaf) this.dir.damaged(this.leaf, 'leaf chain goes backwards');
      this.load(next);
    }
    const p = this.page as Buffer;
    const key = this.dir.entryAt(p, this.leaf, this.count, this.slot++);
    const id = this.dir.readKey(key);
    const values = this.dir.valuesOf(key, this.leaf);
    if (this.floor) {
      const c = Buffer.compare(this.floor, id);
      if (c > 0 || (c === 0 && !this.floorInclusive)) this.dir.damaged(this.leaf, 'ids out of order');
    }
    this.floor = id;
    this.floorInclusive = false;
    this.entries++;
    return { id, ...values };
  }

  private load(leaf: number): void {
    if (++this.leaves > this.dir.header.leafCount) this.dir.damaged(leaf, 'leaf chain too long');
    this.page = this.dir.readPage(leaf, DIRECTORY_PAGE_LEAF, 0);
    this.count = this.dir.itemCount(this.page, leaf);
    this.leaf = leaf;
    this.slot = 0;
  }
}
