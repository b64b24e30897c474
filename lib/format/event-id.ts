/**
 * Event ids in records. Most ids are UUIDs (every id the store generates is a random v4 UUID), so a
 * canonical lowercase UUID is stored as its 16 bytes under the record flag ID_UUID16 instead of 36
 * bytes of text; any other id, including an uppercase UUID, is stored as UTF-8 text and reads back
 * exactly as given.
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

// Formatting goes through one scratch buffer and one latin1 decode: a flat string, no slicing.
const HEX = Buffer.from('0123456789abcdef');
const TEXT_OFFSET = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const text = Buffer.from('00000000-0000-0000-0000-000000000000');

/** The canonical string of the 16-byte UUID at `off`. */
export function readUuid(buf: Buffer, off: number): string {
  for (let i = 0; i < UUID_BYTES; i++) {
    const v = buf[off + i] as number;
    const t = TEXT_OFFSET[i] as number;
    text[t] = HEX[v >> 4] as number;
    text[t + 1] = HEX[v & 15] as number;
  }
  return latin1Text(text, 0, 36);
}
