/**
 * Writes one stream directory file in a single pass from entries in strictly ascending id order:
 * the twin of native/directory_writer.cc, step for step, so both engines write the same bytes.
 * Pages go to `<name>.tmp` in batches of 256 (leaves, each long id's overflow pages just before its
 * leaf, internal pages as each fills: one open page per tree level), the header last; finish syncs,
 * renames into place and syncs the directory. abort removes the temporary file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFully } from '../engine/js-chunk-file.js';
import { InvalidArgumentError } from '../errors.js';
import {
  DIRECTORY_ENTRY_FIXED_SIZE,
  DIRECTORY_INLINE_ID_BYTES,
  DIRECTORY_MAX_ID_BYTES,
  DIRECTORY_MAX_POSITION,
  DIRECTORY_OVERFLOW_PAYLOAD,
  DIRECTORY_PAGE_HEADER_SIZE,
  DIRECTORY_PAGE_INTERNAL,
  DIRECTORY_PAGE_LEAF,
  DIRECTORY_PAGE_OVERFLOW,
  DIRECTORY_PAGE_SIZE,
  DIRECTORY_SEPARATOR_FIXED_SIZE,
  type DirectoryHeader,
  emptyDirectoryHeader,
  encodeDirectoryHeader,
  entryBytes,
  inlineBytes,
  overflows,
  sealDirectoryPage,
  separatorBytes,
  slotAt,
} from '../format/directory-layout.js';
import { fsyncDirectory } from '../fs-durable.js';
import type { DirectorySpec } from './directory-backend.js';

const BUFFER_PAGES = 256;

/** A page's separator: its first 1024 bytes, and the overflow pages of the id it is a prefix of. */
interface Separator {
  head: Buffer;
  length: number;
  overflow: number;
}

/** The page being filled at one level (0: leaves). */
interface OpenPage {
  bytes: Buffer;
  count: number;
  used: number;
  written: number;
  first: Separator;
}

function openPage(written = 0): OpenPage {
  return { bytes: Buffer.alloc(DIRECTORY_PAGE_SIZE), count: 0, used: DIRECTORY_PAGE_HEADER_SIZE, written, first: NO_SEPARATOR };
}
const NO_SEPARATOR: Separator = { head: Buffer.alloc(0), length: 0, overflow: 0 };

function fits(page: OpenPage, bytes: number): boolean {
  return page.used + bytes + 2 * (page.count + 1) <= DIRECTORY_PAGE_SIZE;
}

function commonPrefix(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export interface DirectoryValues {
  firstVersion: number;
  lastVersion: number;
  firstPosition: number;
  lastPosition: number;
}

export class JsDirectoryWriter {
  private readonly file: string;
  private readonly tmp: string;
  private readonly fd: number;
  private readonly header: DirectoryHeader;
  private readonly levels: OpenPage[] = [openPage()];
  private prevId: Buffer | undefined;
  private prevLeaf: Buffer | undefined;
  private prevLeafPage = 0;
  /** Pages [bufferFirst, nextPage) not yet written to the file. */
  private buffer: Buffer[] = [];
  private bufferFirst = 1;
  private nextPage = 1;

  constructor(
    private readonly dir: string,
    name: string,
    spec: DirectorySpec,
  ) {
    const { fromPosition: from, toPosition: to } = spec;
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || from > to || to > DIRECTORY_MAX_POSITION) {
      throw new InvalidArgumentError("a directory's range must satisfy from <= to < 2^48");
    }
    this.header = emptyDirectoryHeader(from, to);
    this.file = path.join(dir, name);
    this.tmp = `${this.file}.tmp`;
    this.fd = fs.openSync(this.tmp, 'w+');
  }

  /** Adds the next entry; InvalidArgumentError for an id that does not follow the last one, one
   * longer than 65535 bytes, or values out of range. */
  add(id: Buffer, v: DirectoryValues): void {
    const length = id.length;
    if (length > DIRECTORY_MAX_ID_BYTES)
      throw new InvalidArgumentError(`a stream id of ${length} bytes is longer than ${DIRECTORY_MAX_ID_BYTES}`);
    if (this.prevId && Buffer.compare(this.prevId, id) >= 0) {
      throw new InvalidArgumentError(this.prevId.equals(id) ? `duplicate stream id '${id.toString('utf8')}'` : 'stream ids out of order');
    }
    if (!validValues(v)) throw new InvalidArgumentError('an entry needs first <= last and positions below 2^48');
    const open = this.levels[0] as OpenPage;
    if (open.count > 0 && !fits(open, entryBytes(length))) this.flushLeaf();
    const leaf = this.levels[0] as OpenPage;
    const overflow = overflows(length) ? this.writeOverflow(id.subarray(DIRECTORY_INLINE_ID_BYTES)) : 0;
    if (leaf.count === 0) {
      // The shortest prefix of this id above the last one before the leaf: all a search needs.
      const n = this.prevId ? commonPrefix(this.prevId, id) + 1 : 0;
      leaf.first = { head: Buffer.from(id.subarray(0, inlineBytes(n))), length: n, overflow: overflows(n) ? overflow : 0 };
    }
    const p = leaf.bytes;
    const at = leaf.used;
    p.writeUInt16LE(length, at);
    p.writeUInt32LE(v.firstVersion, at + 2);
    p.writeUInt32LE(v.lastVersion, at + 6);
    p.writeUIntLE(v.firstPosition, at + 10, 6);
    p.writeUIntLE(v.lastPosition, at + 16, 6);
    id.copy(p, at + DIRECTORY_ENTRY_FIXED_SIZE, 0, inlineBytes(length));
    if (overflows(length)) p.writeUInt32LE(overflow, at + DIRECTORY_ENTRY_FIXED_SIZE + inlineBytes(length));
    p.writeUInt16LE(at, slotAt(leaf.count));
    leaf.used += entryBytes(length);
    leaf.count++;
    this.prevId = Buffer.from(id);
    this.header.entryCount++;
    if (v.firstVersion === 1) this.header.starts++;
    this.header.longestId = Math.max(this.header.longestId, length);
  }

  /** Writes what is open and the header, and publishes the file. */
  finish(): void {
    if ((this.levels[0] as OpenPage).count > 0) this.flushLeaf();
    // Close the levels bottom-up until one holds a single page and nothing else: the root.
    for (let level = 1; this.header.leafCount > 0; level++) {
      const page = this.levels[level] as OpenPage;
      if (page.written === 0 && page.count === 1) {
        this.header.rootPage = page.bytes.readUInt32LE(page.bytes.readUInt16LE(slotAt(0)));
        this.header.height = level;
        break;
      }
      if (page.count > 0) this.flushInternal(level);
    }
    this.flushBuffer();
    this.header.pageCount = this.nextPage;
    writeFully(this.fd, encodeDirectoryHeader(this.header), 0);
    fs.fdatasyncSync(this.fd);
    fs.closeSync(this.fd);
    fs.renameSync(this.tmp, this.file);
    fsyncDirectory(this.dir);
  }

  /** Closes and removes the temporary file (after a failure). */
  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {}
    fs.rmSync(this.tmp, { force: true });
  }

  private writeOverflow(tail: Buffer): number {
    const first = this.nextPage;
    for (let at = 0; at < tail.length; at += DIRECTORY_OVERFLOW_PAYLOAD) {
      const n = Math.min(DIRECTORY_OVERFLOW_PAYLOAD, tail.length - at);
      const page = Buffer.alloc(DIRECTORY_PAGE_SIZE);
      page[4] = DIRECTORY_PAGE_OVERFLOW;
      page.writeUInt16LE(n, 6);
      tail.copy(page, DIRECTORY_PAGE_HEADER_SIZE, at, at + n);
      sealDirectoryPage(page);
      this.writePage(page);
      this.header.overflowCount++;
    }
    return first;
  }

  /** Seals `page` (type, level, count) and writes it; returns its page number. */
  private seal(page: OpenPage, type: number, level: number): number {
    page.bytes[4] = type;
    page.bytes[5] = level;
    page.bytes.writeUInt16LE(page.count, 6);
    sealDirectoryPage(page.bytes);
    page.written++;
    return this.writePage(page.bytes);
  }

  private flushLeaf(): void {
    const leaf = this.levels[0] as OpenPage;
    const n = this.seal(leaf, DIRECTORY_PAGE_LEAF, 0);
    if (this.prevLeaf) {
      this.prevLeaf.writeUInt32LE(n, 8);
      sealDirectoryPage(this.prevLeaf);
      this.rewritePage(this.prevLeafPage, this.prevLeaf);
    } else {
      this.header.firstLeaf = n;
    }
    this.prevLeaf = leaf.bytes;
    this.prevLeafPage = n;
    this.header.leafCount++;
    this.levels[0] = openPage();
    this.addSeparator(1, leaf.first, n);
  }

  private addSeparator(level: number, s: Separator, child: number): void {
    if (this.levels.length <= level) this.levels.push(openPage());
    if ((this.levels[level] as OpenPage).count > 0 && !fits(this.levels[level] as OpenPage, separatorBytes(s.length))) {
      this.flushInternal(level);
    }
    const page = this.levels[level] as OpenPage;
    if (page.count === 0) page.first = s;
    const p = page.bytes;
    const at = page.used;
    p.writeUInt32LE(child, at);
    p.writeUInt16LE(s.length, at + 4);
    s.head.copy(p, at + DIRECTORY_SEPARATOR_FIXED_SIZE);
    if (overflows(s.length)) p.writeUInt32LE(s.overflow, at + DIRECTORY_SEPARATOR_FIXED_SIZE + s.head.length);
    p.writeUInt16LE(at, slotAt(page.count));
    page.used += separatorBytes(s.length);
    page.count++;
  }

  private flushInternal(level: number): void {
    const page = this.levels[level] as OpenPage;
    const n = this.seal(page, DIRECTORY_PAGE_INTERNAL, level);
    this.header.internalCount++;
    this.levels[level] = openPage(page.written);
    this.addSeparator(level + 1, page.first, n);
  }

  private writePage(page: Buffer): number {
    const n = this.nextPage++;
    this.buffer.push(page);
    if (this.buffer.length >= BUFFER_PAGES) this.flushBuffer();
    return n;
  }

  private rewritePage(n: number, page: Buffer): void {
    if (n >= this.bufferFirst) this.buffer[n - this.bufferFirst] = page;
    else writeFully(this.fd, page, n * DIRECTORY_PAGE_SIZE);
  }

  private flushBuffer(): void {
    if (this.buffer.length === 0) return;
    writeFully(this.fd, Buffer.concat(this.buffer), this.bufferFirst * DIRECTORY_PAGE_SIZE);
    this.bufferFirst = this.nextPage;
    this.buffer = [];
  }
}

function validValues(v: DirectoryValues): boolean {
  return v.firstVersion <= v.lastVersion && v.firstPosition <= v.lastPosition && v.lastPosition <= DIRECTORY_MAX_POSITION;
}
