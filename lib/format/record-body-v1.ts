/**
 * Event bodies of frame kind 1 (RECORD_KIND_EVENT_V1), read-only: stores written before the compact
 * body (record-codec.ts) hold them, and they stay readable; nothing writes them any more.
 *
 *   0  u64 previous position of the same stream (0 = first event)
 *   8  u64 timestamp (ms)        16 u32 stream version
 *   20 u16 stream id bytes       22 u16 type bytes      24 u16 event id bytes   26 u16 command id bytes
 *   28 u32 data bytes            32 u32 metadata bytes  36 u8 payload flags     37 3 zero bytes
 *   40 stream id | type | event id | command id | data | metadata   (strings UTF-8)
 *
 * The payload flags are the compact body's (record-codec.ts), without HAS_COMMAND: a command id of
 * zero bytes means none.
 */
import { u16, u32 } from './le-bytes.js';

export const BODY_V1_FIXED_SIZE = 40;

/**
 * Reads the field lengths of a v1 body at `b` into `out` (the compact body's order: version, stream
 * id, type, event id, command id, data, metadata bytes, then flags, timestamp) and returns where
 * its fields start.
 */
export function readBodyV1Header(buf: Buffer, b: number, out: Float64Array): number {
  out[0] = u32(buf, b + 16);
  out[1] = u16(buf, b + 20);
  out[2] = u16(buf, b + 22);
  out[3] = u16(buf, b + 24);
  out[4] = u16(buf, b + 26);
  out[5] = u32(buf, b + 28);
  out[6] = u32(buf, b + 32);
  out[7] = buf[b + 36] as number;
  out[8] = u32(buf, b + 8) + u16(buf, b + 12) * 0x1_0000_0000;
  return b + BODY_V1_FIXED_SIZE;
}
