/**
 * Event ids in records. Most ids are UUIDs, so a canonical lowercase UUID is stored as its 16 bytes
 * under the record flag ID_UUID16 instead of 36 bytes of text; any other id, including an uppercase
 * UUID, is stored as UTF-8 text and reads back exactly as given.
 *
 * An event appended without an id gets a derived one that takes no bytes at all (flag ID_DERIVED):
 * a version 7 UUID whose 48-bit time is the event's timestamp, whose 74 "random" bits are the
 * store identity (26 random bits, chosen once per store and kept in every chunk header) followed by
 * the event's 48-bit position. Positions never repeat in a store, so neither do its ids; two stores
 * give the same id only for the same position in the same millisecond under the same 26-bit
 * identity. The one way to meet that: copy a store's directory and go on appending to both copies,
 * which then may hand out equal ids to different events (as two copies of a database do with
 * their row ids). Where ids must stay unique across such copies, pass your own.
 */
import { randomFillSync } from 'node:crypto';
import { latin1Text } from './text.js';

export const UUID_BYTES = 16;
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether `id` is stored as 16 bytes (a canonical lowercase UUID). */
export function isPackedUuid(id: string): boolean {
  return id.length === 36 && CANONICAL_UUID.test(id);
}

/** Writes the 16 bytes of a canonical UUID string. */
export function writeUuid(buf: Buffer, off: number, id: string): void {
  buf.write(id.slice(0, 8), off, 4, 'hex');
  buf.write(id.slice(9, 13), off + 4, 2, 'hex');
  buf.write(id.slice(14, 18), off + 6, 2, 'hex');
  buf.write(id.slice(19, 23), off + 8, 2, 'hex');
  buf.write(id.slice(24, 36), off + 10, 6, 'hex');
}

// Random bytes drawn a few KiB at a time: one crypto call per 256 generated ids.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** Writes a fresh random (version 4) UUID. */
export function writeRandomUuid(buf: Buffer, off: number): void {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  pool.copy(buf, off, poolOffset, poolOffset + UUID_BYTES);
  poolOffset += UUID_BYTES;
  buf[off + 6] = ((buf[off + 6] as number) & 0x0f) | 0x40;
  buf[off + 8] = ((buf[off + 8] as number) & 0x3f) | 0x80;
}

/** A fresh store identity in [1, 2^26). */
export function freshStoreIdentity(): number {
  const b = Buffer.alloc(4);
  for (;;) {
    randomFillSync(b);
    const identity = b.readUInt32LE(0) >>> 6;
    if (identity !== 0) return identity;
  }
}

/** The id of an event stored with ID_DERIVED: see the top of this file for the layout. Written
 * as text straight from the three numbers: stream reads derive one per event, and going through a
 * 16-byte buffer and Buffer.writeUIntBE, which checks its arguments, was slower. */
export function derivedUuid(timestamp: number, identity: number, position: number): string {
  put48(0, timestamp);
  putByte(6, 0x70 | (identity >>> 22));
  putByte(7, (identity >>> 14) & 0xff);
  putByte(8, 0x80 | ((identity >>> 8) & 0x3f));
  putByte(9, identity & 0xff);
  put48(10, position);
  return latin1Text(text, 0, 36);
}

// Formatting goes through one scratch buffer and one latin1 decode: a flat string, no slicing.
const HEX = Buffer.from('0123456789abcdef');
const TEXT_OFFSET = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const text = Buffer.from('00000000-0000-0000-0000-000000000000');

/** Byte `i` of the UUID into `text`, as two hex digits. */
function putByte(i: number, v: number): void {
  const t = TEXT_OFFSET[i] as number;
  text[t] = HEX[v >> 4] as number;
  text[t + 1] = HEX[v & 15] as number;
}

/** Bytes i..i+5 of the UUID: `v` (below 2^48) big-endian. */
function put48(i: number, v: number): void {
  const hi = Math.floor(v / 0x1000000);
  const lo = v - hi * 0x1000000;
  putByte(i, (hi >>> 16) & 0xff);
  putByte(i + 1, (hi >>> 8) & 0xff);
  putByte(i + 2, hi & 0xff);
  putByte(i + 3, lo >>> 16);
  putByte(i + 4, (lo >>> 8) & 0xff);
  putByte(i + 5, lo & 0xff);
}

/** The canonical string of the 16-byte UUID at `off`. */
export function readUuid(buf: Buffer, off: number): string {
  for (let i = 0; i < UUID_BYTES; i++) putByte(i, buf[off + i] as number);
  return latin1Text(text, 0, 36);
}
