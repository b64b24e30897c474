/**
 * Index segment layout (segment format version 3): the TypeScript twin of native/index_format.h (read that
 * header for the page layout and invariants) and native/bloom_filter.cc.
 */
import { crc32c } from './crc32c.js';

export const SEGMENT_PAGE_SIZE = 4096;
/** Segments are derived data: a file of another version reads as damaged and is rebuilt. */
export const SEGMENT_FORMAT_VERSION = 3;
export const MAX_SEGMENT_POSITION = 2 ** 48 - 1;
export const SEGMENT_SEPARATOR_SIZE = 16;
export const INTERNAL_CAPACITY = Math.floor((SEGMENT_PAGE_SIZE - 16) / SEGMENT_SEPARATOR_SIZE);
export const SEGMENT_KIND_STREAM = 1;
export const SEGMENT_KIND_COMMAND = 2;
/** The read models' kinds: a stream's category (its id before the first '-') and an event's type.
 * Their entries have the stream layout, with seq the position's 64 KiB bucket (viewSeq), so that
 * the tree finds a position inside a key's entries: entries sort by (key, position). */
export const SEGMENT_KIND_CATEGORY = 3;
export const SEGMENT_KIND_TYPE = 4;
export type SegmentKind =
  | typeof SEGMENT_KIND_STREAM
  | typeof SEGMENT_KIND_COMMAND
  | typeof SEGMENT_KIND_CATEGORY
  | typeof SEGMENT_KIND_TYPE;
export type ViewKind = typeof SEGMENT_KIND_CATEGORY | typeof SEGMENT_KIND_TYPE;
/** The seq of a category or type entry: its position's 64 KiB bucket (u32 for any u48 position). */
export function viewSeq(position: number): number {
  return Math.floor(position / 65536);
}

/** Entries: u48 key (u32 lo, u16 hi) then, in stream segments, u32 seq and u48 position (16
 * bytes); in command segments only the u48 position (12 bytes; seq reads as 0). */
export function entrySize(kind: number): number {
  return kind === SEGMENT_KIND_COMMAND ? 12 : 16;
}
export function leafCapacity(kind: number): number {
  return Math.floor((SEGMENT_PAGE_SIZE - 8) / entrySize(kind));
}
/** Offsets in an entry: the key's u16 hi part (its u32 lo part is at 0) and, in stream segments,
 * the seq. */
export const ENTRY_KEY_HI_OFFSET = 4;
export const ENTRY_SEQ_OFFSET = 6;
/** Offset of the position in an entry of `kind`. */
export function entryPositionOffset(kind: number): number {
  return kind === SEGMENT_KIND_COMMAND ? 6 : 10;
}
export function writeEntry(p: Buffer, at: number, kind: number, hi: number, lo: number, seq: number, position: number): void {
  p.writeUInt32LE(lo, at);
  p.writeUInt16LE(hi, at + ENTRY_KEY_HI_OFFSET);
  if (kind !== SEGMENT_KIND_COMMAND) p.writeUInt32LE(seq, at + ENTRY_SEQ_OFFSET);
  p.writeUIntLE(position, at + entryPositionOffset(kind), 6);
}
export const BLOOM_BITS_PER_KEY = 10;
export const BLOOM_HASHES = 7;
const MAGIC = Buffer.from('ANNALSIX', 'latin1');

export interface SegmentHeader {
  kind: SegmentKind;
  fromPosition: number;
  toPosition: number;
  entryCount: number;
  leafCount: number;
  rootPage: number;
  height: number;
  bloomPage: number;
  bloomBytes: number;
  bloomHashes: number;
  bloomCrc: number;
  distinctKeys: number;
  pageCount: number;
  /** Entries opening a key (stream seq 1, command seq 0): counts streams and commands. */
  starts: number;
}

export function encodeSegmentHeader(h: SegmentHeader): Buffer {
  const p = Buffer.alloc(SEGMENT_PAGE_SIZE);
  MAGIC.copy(p, 0);
  p[8] = SEGMENT_FORMAT_VERSION;
  p[9] = h.kind;
  p.writeUInt32LE(SEGMENT_PAGE_SIZE, 12);
  p.writeUIntLE(h.fromPosition, 16, 6);
  p.writeUIntLE(h.toPosition, 24, 6);
  p.writeUIntLE(h.entryCount, 32, 6);
  p.writeUInt32LE(h.leafCount, 40);
  p.writeUInt32LE(h.rootPage, 44);
  p.writeUInt32LE(h.height, 48);
  p.writeUInt32LE(h.bloomPage, 52);
  p.writeUInt32LE(h.bloomBytes, 56);
  p.writeUInt32LE(h.bloomHashes, 60);
  p.writeUInt32LE(h.bloomCrc >>> 0, 64);
  p.writeUInt32LE(h.distinctKeys, 68);
  p.writeUInt32LE(h.pageCount, 72);
  p.writeUIntLE(h.starts, 80, 6);
  p.writeUInt32LE(crc32c(p, 0, 0, 124), 124);
  return p;
}

export function decodeSegmentHeader(p: Buffer): SegmentHeader | undefined {
  if (p.length < SEGMENT_PAGE_SIZE || !p.subarray(0, 8).equals(MAGIC) || p.readUInt32LE(124) !== crc32c(p, 0, 0, 124)) {
    return undefined;
  }
  if (p[8] !== SEGMENT_FORMAT_VERSION || p.readUInt32LE(12) !== SEGMENT_PAGE_SIZE) return undefined;
  const kind = p[9];
  if (kind !== SEGMENT_KIND_STREAM && kind !== SEGMENT_KIND_COMMAND && kind !== SEGMENT_KIND_CATEGORY && kind !== SEGMENT_KIND_TYPE)
    return undefined;
  const h: SegmentHeader = {
    kind,
    fromPosition: p.readUIntLE(16, 6),
    toPosition: p.readUIntLE(24, 6),
    entryCount: p.readUIntLE(32, 6),
    leafCount: p.readUInt32LE(40),
    rootPage: p.readUInt32LE(44),
    height: p.readUInt32LE(48),
    bloomPage: p.readUInt32LE(52),
    bloomBytes: p.readUInt32LE(56),
    bloomHashes: p.readUInt32LE(60),
    bloomCrc: p.readUInt32LE(64),
    distinctKeys: p.readUInt32LE(68),
    pageCount: p.readUInt32LE(72),
    starts: p.readUIntLE(80, 6),
  };
  const ok =
    h.height <= 8 && h.fromPosition <= h.toPosition && h.leafCount < h.pageCount && h.rootPage < h.pageCount && h.bloomPage <= h.pageCount;
  return ok ? h : undefined;
}

export function bloomBytesFor(distinctKeys: number): number {
  const bits = Math.max(64, distinctKeys * BLOOM_BITS_PER_KEY);
  return Math.min(Math.ceil(bits / 8), 1 << 30);
}

// Probe i of a key: ((lo + i * (hi | 1)) mod 2^32) mod bits — plain loops, no generator: these run
// once per segment per lookup.
export function bloomAdd(bits: Uint8Array, hi: number, lo: number): void {
  const h = (hi | 1) >>> 0;
  const m = bits.length * 8;
  for (let i = 0; i < BLOOM_HASHES; i++) {
    const b = ((lo + Math.imul(i, h)) >>> 0) % m;
    bits[b >>> 3] = (bits[b >>> 3] as number) | (1 << (b & 7));
  }
}

export function bloomMayContain(bits: Uint8Array, hi: number, lo: number): boolean {
  const m = bits.length * 8;
  if (m === 0) return true;
  const h = (hi | 1) >>> 0;
  for (let i = 0; i < BLOOM_HASHES; i++) {
    const b = ((lo + Math.imul(i, h)) >>> 0) % m;
    if (((bits[b >>> 3] as number) & (1 << (b & 7))) === 0) return false;
  }
  return true;
}

/** Compares (hi, lo, seq) triples: negative, zero or positive. */
export function compareEntry(ahi: number, alo: number, aseq: number, bhi: number, blo: number, bseq: number): number {
  return ahi !== bhi ? ahi - bhi : alo !== blo ? alo - blo : aseq - bseq;
}

/** The name each kind's segment files start with. */
export const SEGMENT_KIND_NAMES: Record<SegmentKind, string> = { 1: 'stream', 2: 'command', 3: 'category', 4: 'type' };

export function segmentFileName(kind: SegmentKind, from: number, to: number): string {
  const hex = (n: number) => n.toString(16).padStart(12, '0');
  return `${SEGMENT_KIND_NAMES[kind]}-${hex(from)}-${hex(to)}.seg`;
}
