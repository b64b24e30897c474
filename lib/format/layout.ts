/**
 * On-disk layout of data chunks, format version 3 (versions 1 and 2 read): the TypeScript twin of native/chunk_format.h
 * (read that header for the invariants; docs/ARCHITECTURE.md has the prose). Both engines write and
 * read exactly these bytes.
 */
import { crc32c } from './crc32c.js';

/** Written into every new chunk header, footer and checkpoint; version 1 and 2 files still open.
 * Frames say their own body layout (kind), so an upgraded store's old tail takes kind 2 frames. */
export const FORMAT_VERSION = 3;
/** The first version whose chunk headers carry the store identity (u32 at 40). */
const IDENTITY_FORMAT_VERSION = 3;
/** Store identities are in [1, STORE_IDENTITY_LIMIT): 26 bits of a derived event id. */
const STORE_IDENTITY_LIMIT = 2 ** 26;
export function storeIdentityValid(identity: number): boolean {
  return Number.isInteger(identity) && identity > 0 && identity < STORE_IDENTITY_LIMIT;
}
const OLDEST_FORMAT_VERSION = 1;
function versionKnown(v: number | undefined): boolean {
  return v !== undefined && v >= OLDEST_FORMAT_VERSION && v <= FORMAT_VERSION;
}
export const CHUNK_KIND_DATA = 1;
export const CHUNK_HEADER_SIZE = 64;
export const CHUNK_FOOTER_SIZE = 64;
export const FRAME_HEADER_SIZE = 16;
/** An event with the compact body (record-codec.ts): every append writes these. */
export const RECORD_KIND_EVENT = 2;
/** An event with the version 1 body (record-body-v1.ts): read, never written. */
export const RECORD_KIND_EVENT_V1 = 1;
export function isEventKind(kind: number | undefined): boolean {
  return kind === RECORD_KIND_EVENT || kind === RECORD_KIND_EVENT_V1;
}
export const FRAME_FLAG_COMMIT = 1;
export const MIN_CHUNK_SIZE = 1 << 20;
export const CHECKPOINT_SIZE = 48;
export const CHECKPOINT_FILE = 'writer.chk';

const CHUNK_MAGIC = Buffer.from('ANNALSCK', 'latin1');
const FOOTER_MAGIC = Buffer.from('ANNALSFT', 'latin1');
const CHECKPOINT_MAGIC = Buffer.from('ANNALSWC', 'latin1');

export function chunkFileName(n: number): string {
  return `${String(n).padStart(8, '0')}.chunk`;
}

/** End of the record region of a chunk: the footer starts there. */
export function dataCapacityEnd(chunkSize: number): number {
  return chunkSize - CHUNK_FOOTER_SIZE;
}

/** Where a transaction of `size` bytes lands when the log ends at `end`: rolls to the next chunk when
 * it does not fit, so neither a frame nor an atomic append ever spans two chunks. */
export function placeTransaction(end: number, size: number, chunkSize: number): number {
  const offset = end % chunkSize;
  if (offset + size <= dataCapacityEnd(chunkSize)) return end;
  return (Math.floor(end / chunkSize) + 1) * chunkSize + CHUNK_HEADER_SIZE;
}

/** Largest transaction a chunk can hold. */
export function maxTransactionBytes(chunkSize: number): number {
  return dataCapacityEnd(chunkSize) - CHUNK_HEADER_SIZE;
}

function stamp(block: Buffer, crcOffset: number): void {
  block.writeUInt32LE(crc32c(block, 0, 0, crcOffset), crcOffset);
}
function stampOk(block: Buffer, crcOffset: number): boolean {
  return block.readUInt32LE(crcOffset) === crc32c(block, 0, 0, crcOffset);
}

export function encodeChunkHeader(chunkNumber: number, chunkSize: number, identity: number): Buffer {
  const b = Buffer.alloc(CHUNK_HEADER_SIZE);
  CHUNK_MAGIC.copy(b, 0);
  b[8] = FORMAT_VERSION;
  b[9] = CHUNK_KIND_DATA;
  b.writeUInt32LE(CHUNK_HEADER_SIZE, 12);
  b.writeUIntLE(chunkNumber, 16, 6);
  b.writeUIntLE(chunkSize, 24, 6);
  b.writeUIntLE(chunkNumber * chunkSize, 32, 6);
  b.writeUInt32LE(identity, 40);
  stamp(b, 60);
  return b;
}

/** The store identity in a valid chunk header; 0 for a header of version 1 or 2 (none). */
export function chunkHeaderIdentity(b: Buffer): number {
  return (b[8] as number) >= IDENTITY_FORMAT_VERSION ? b.readUInt32LE(40) : 0;
}

export function chunkHeaderValid(b: Buffer, chunkNumber: number, chunkSize: number): boolean {
  return (
    b.length >= CHUNK_HEADER_SIZE &&
    b.subarray(0, 8).equals(CHUNK_MAGIC) &&
    stampOk(b, 60) &&
    versionKnown(b[8]) &&
    b[9] === CHUNK_KIND_DATA &&
    b.readUIntLE(16, 6) === chunkNumber &&
    b.readUInt16LE(22) === 0 &&
    b.readUIntLE(24, 6) === chunkSize &&
    b.readUIntLE(32, 6) === chunkNumber * chunkSize &&
    ((b[8] as number) < IDENTITY_FORMAT_VERSION || storeIdentityValid(b.readUInt32LE(40)))
  );
}

export interface ChunkFooter {
  recordCount: number;
  dataEnd: number;
  dataChecksum: number;
}

export function encodeChunkFooter(f: ChunkFooter): Buffer {
  const b = Buffer.alloc(CHUNK_FOOTER_SIZE);
  FOOTER_MAGIC.copy(b, 0);
  b[8] = FORMAT_VERSION;
  b.writeUInt32LE(f.recordCount, 12);
  b.writeUIntLE(f.dataEnd, 16, 6);
  b.writeUInt32LE(f.dataChecksum >>> 0, 24);
  stamp(b, 60);
  return b;
}

export function decodeChunkFooter(b: Buffer): ChunkFooter | undefined {
  if (!b.subarray(0, 8).equals(FOOTER_MAGIC) || !stampOk(b, 60) || !versionKnown(b[8])) {
    return undefined;
  }
  return { recordCount: b.readUInt32LE(12), dataEnd: b.readUIntLE(16, 6), dataChecksum: b.readUInt32LE(24) };
}

export interface Checkpoint {
  durableEnd: number;
  generation: number;
  /** Frames of the tail chunk before durableEnd, and its data checksum chained up to there. */
  tailRecords: number;
  tailChecksum: number;
}

export function encodeCheckpoint(c: Checkpoint): Buffer {
  const b = Buffer.alloc(CHECKPOINT_SIZE);
  CHECKPOINT_MAGIC.copy(b, 0);
  b[8] = FORMAT_VERSION;
  b.writeUInt32LE(c.generation >>> 0, 12);
  b.writeUIntLE(c.durableEnd, 16, 6);
  b.writeUInt32LE(c.tailRecords >>> 0, 24);
  b.writeUInt32LE(c.tailChecksum >>> 0, 28);
  stamp(b, 44);
  return b;
}

export function decodeCheckpoint(b: Buffer): Checkpoint | undefined {
  if (b.length < CHECKPOINT_SIZE || !b.subarray(0, 8).equals(CHECKPOINT_MAGIC) || !stampOk(b, 44)) {
    return undefined;
  }
  if (!versionKnown(b[8])) return undefined;
  return {
    generation: b.readUInt32LE(12),
    durableEnd: b.readUIntLE(16, 6),
    tailRecords: b.readUInt32LE(24),
    tailChecksum: b.readUInt32LE(28),
  };
}
