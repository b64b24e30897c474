/**
 * Stream directory layout (directory format version 1): the TypeScript twin of
 * native/directory_format.h (read that header for the page layout and invariants).
 */
import { crc32c } from './crc32c.js';

export const DIRECTORY_PAGE_SIZE = 4096;
/** Directories are derived data: a file of another version reads as damaged and is rebuilt. */
export const DIRECTORY_FORMAT_VERSION = 1;
export const DIRECTORY_PAGE_HEADER_SIZE = 12;
/** Id bytes kept on a leaf or internal page; the rest of a longer id is on overflow pages. */
export const DIRECTORY_INLINE_ID_BYTES = 1024;
export const DIRECTORY_MAX_ID_BYTES = 65535;
export const DIRECTORY_OVERFLOW_PAYLOAD = DIRECTORY_PAGE_SIZE - DIRECTORY_PAGE_HEADER_SIZE;
/** u16 id length, u32 first and last version, u48 first and last position. */
export const DIRECTORY_ENTRY_FIXED_SIZE = 22;
/** u32 child page, u16 length. */
export const DIRECTORY_SEPARATOR_FIXED_SIZE = 6;
export const DIRECTORY_MAX_POSITION = 2 ** 48 - 1;
export const DIRECTORY_MAX_HEIGHT = 24;
/** Most entries one page() answers. */
export const DIRECTORY_MAX_PAGE_LIMIT = 10000;
export const DIRECTORY_PAGE_LEAF = 1;
export const DIRECTORY_PAGE_INTERNAL = 2;
export const DIRECTORY_PAGE_OVERFLOW = 3;
export const DIRECTORY_MAGIC = Buffer.from('ANNALSDR', 'latin1');

export function inlineBytes(length: number): number {
  return Math.min(length, DIRECTORY_INLINE_ID_BYTES);
}
export function overflows(length: number): boolean {
  return length > DIRECTORY_INLINE_ID_BYTES;
}
export function overflowPages(length: number): number {
  return overflows(length) ? Math.ceil((length - DIRECTORY_INLINE_ID_BYTES) / DIRECTORY_OVERFLOW_PAYLOAD) : 0;
}
/** Bytes of overflow page j of an id of `length`. */
export function chunkBytes(length: number, j: number): number {
  return Math.min(DIRECTORY_OVERFLOW_PAYLOAD, length - DIRECTORY_INLINE_ID_BYTES - j * DIRECTORY_OVERFLOW_PAYLOAD);
}
/** Bytes an entry (separator) with an id of `length` takes on its page, without its slot. */
export function entryBytes(length: number): number {
  return DIRECTORY_ENTRY_FIXED_SIZE + inlineBytes(length) + (overflows(length) ? 4 : 0);
}
export function separatorBytes(length: number): number {
  return DIRECTORY_SEPARATOR_FIXED_SIZE + inlineBytes(length) + (overflows(length) ? 4 : 0);
}
/** Offset of slot i's u16 on a page. */
export function slotAt(i: number): number {
  return DIRECTORY_PAGE_SIZE - 2 * (i + 1);
}

export interface DirectoryHeader {
  fromPosition: number;
  toPosition: number;
  entryCount: number;
  /** Entries whose first version is 1: streams that begin in the range. */
  starts: number;
  /** Every page, the header included. */
  pageCount: number;
  leafCount: number;
  internalCount: number;
  overflowCount: number;
  /** 0 when empty. */
  rootPage: number;
  /** 0 when empty, 1 when the root is a leaf. */
  height: number;
  firstLeaf: number;
  longestId: number;
}

export function emptyDirectoryHeader(fromPosition: number, toPosition: number): DirectoryHeader {
  return {
    fromPosition,
    toPosition,
    entryCount: 0,
    starts: 0,
    pageCount: 0,
    leafCount: 0,
    internalCount: 0,
    overflowCount: 0,
    rootPage: 0,
    height: 0,
    firstLeaf: 0,
    longestId: 0,
  };
}

export function encodeDirectoryHeader(h: DirectoryHeader): Buffer {
  const p = Buffer.alloc(DIRECTORY_PAGE_SIZE);
  DIRECTORY_MAGIC.copy(p, 0);
  p[8] = DIRECTORY_FORMAT_VERSION;
  p.writeUInt32LE(DIRECTORY_PAGE_SIZE, 12);
  p.writeUIntLE(h.fromPosition, 16, 6);
  p.writeUIntLE(h.toPosition, 24, 6);
  p.writeUIntLE(h.entryCount, 32, 6);
  p.writeUIntLE(h.starts, 40, 6);
  p.writeUInt32LE(h.pageCount, 48);
  p.writeUInt32LE(h.leafCount, 52);
  p.writeUInt32LE(h.internalCount, 56);
  p.writeUInt32LE(h.overflowCount, 60);
  p.writeUInt32LE(h.rootPage, 64);
  p.writeUInt32LE(h.height, 68);
  p.writeUInt32LE(h.firstLeaf, 72);
  p.writeUInt32LE(h.longestId, 76);
  p.writeUInt32LE(crc32c(p, 0, 0, 124), 124);
  return p;
}

/** A u64 field below 2^48, else undefined. */
function u48Field(p: Buffer, at: number): number | undefined {
  return p.readUInt16LE(at + 6) === 0 ? p.readUIntLE(at, 6) : undefined;
}

/** The header, or undefined for a bad magic, CRC or version, or fields that contradict each other
 * (the checks of DirectoryHeader::DecodeFrom). */
export function decodeDirectoryHeader(p: Buffer): DirectoryHeader | undefined {
  if (p.length < DIRECTORY_PAGE_SIZE || !p.subarray(0, 8).equals(DIRECTORY_MAGIC) || p.readUInt32LE(124) !== crc32c(p, 0, 0, 124)) {
    return undefined;
  }
  if (p[8] !== DIRECTORY_FORMAT_VERSION || p.readUInt32LE(12) !== DIRECTORY_PAGE_SIZE) return undefined;
  const [fromPosition, toPosition, entryCount, starts] = [16, 24, 32, 40].map((at) => u48Field(p, at));
  if (fromPosition === undefined || toPosition === undefined || entryCount === undefined || starts === undefined) return undefined;
  const h: DirectoryHeader = {
    fromPosition,
    toPosition,
    entryCount,
    starts,
    pageCount: p.readUInt32LE(48),
    leafCount: p.readUInt32LE(52),
    internalCount: p.readUInt32LE(56),
    overflowCount: p.readUInt32LE(60),
    rootPage: p.readUInt32LE(64),
    height: p.readUInt32LE(68),
    firstLeaf: p.readUInt32LE(72),
    longestId: p.readUInt32LE(76),
  };
  const empty = h.entryCount === 0;
  const ok =
    h.fromPosition <= h.toPosition &&
    h.starts <= h.entryCount &&
    1 + h.leafCount + h.internalCount + h.overflowCount === h.pageCount &&
    h.height <= DIRECTORY_MAX_HEIGHT &&
    h.longestId <= DIRECTORY_MAX_ID_BYTES &&
    h.rootPage < h.pageCount &&
    h.firstLeaf < h.pageCount &&
    empty === (h.height === 0) &&
    empty === (h.leafCount === 0) &&
    empty === (h.rootPage === 0) &&
    empty === (h.firstLeaf === 0) &&
    h.leafCount <= h.entryCount &&
    (h.height === 1) === (h.leafCount === 1) &&
    (h.height !== 1 || h.rootPage === h.firstLeaf);
  return ok ? h : undefined;
}

/** Writes the CRC of [4, 4096) at 0. */
export function sealDirectoryPage(p: Buffer): void {
  p.writeUInt32LE(crc32c(p, 0, 4, DIRECTORY_PAGE_SIZE), 0);
}

export function directoryPageCrcValid(p: Buffer): boolean {
  return p.readUInt32LE(0) === crc32c(p, 0, 4, DIRECTORY_PAGE_SIZE);
}

/** A conventional file name for the directory of log range [from, to). */
export function directoryFileName(from: number, to: number): string {
  const hex = (n: number) => n.toString(16).padStart(12, '0');
  return `directory-${hex(from)}-${hex(to)}.dir`;
}
