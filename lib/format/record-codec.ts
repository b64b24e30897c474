/**
 * Event record bodies (format version 1), inside the frame of lib/format/layout.ts:
 *
 *   0  u64 previous position of the same stream (0 = first event): ENode's back-pointer
 *   8  u64 timestamp (ms)        16 u32 stream version
 *   20 u16 stream id bytes       22 u16 type bytes      24 u16 event id bytes   26 u16 command id bytes
 *   28 u32 data bytes            32 u32 metadata bytes  36 u8 payload flags     37 3 zero bytes
 *   40 stream id | type | event id | command id | data | metadata   (strings UTF-8)
 *
 * Payload flags: DATA_BYTES / META_BYTES (raw bytes, else JSON text), DATA_ABSENT / META_ABSENT,
 * ID_UUID16 (the event id is a UUID stored as its 16 bytes: lib/format/event-id.ts).
 * Encoding is per transaction (one atomic append): frames are laid out first, the placement decided,
 * then the back-pointers patched, since they are absolute positions.
 */

import type { RecordedEvent } from '../types.js';
import { isPackedUuid, readUuid, UUID_BYTES, writeRandomUuid, writeUuid } from './event-id.js';
import { FRAME_FLAG_COMMIT, FRAME_HEADER_SIZE, RECORD_KIND_EVENT } from './layout.js';
import { u16, u32 } from './le-bytes.js';
import { cachedString } from './string-cache.js';
import { utf8Text } from './text.js';

export const BODY_FIXED_SIZE = 40;
const DATA_BYTES = 1;
const META_BYTES = 2;
const DATA_ABSENT = 4;
const META_ABSENT = 8;
const ID_UUID16 = 16;

/** An event after validation: payloads already turned into bytes or JSON text. */
export interface NormalizedEvent {
  type: string;
  /** The caller's id; undefined: the encoder generates a random UUID. */
  id: string | undefined;
  data: Uint8Array | string | undefined;
  metadata: Uint8Array | string | undefined;
}

export interface TransactionItem {
  streamId: string;
  events: NormalizedEvent[];
  firstVersion: number;
  /** Position of the stream's newest event before this append, 0 if none. */
  prevPosition: number;
  commandId?: string;
}

export interface EncodedTransaction {
  buf: Buffer;
  /** Offset of each frame in `buf`, item by item, event by event. */
  frameOffsets: number[];
  /** Writes the back-pointers once the transaction's start position is known. */
  place(start: number): void;
}

function payloadLength(p: Uint8Array | string | undefined): number {
  if (p === undefined) return 0;
  return typeof p === 'string' ? Buffer.byteLength(p) : p.length;
}

/** Encoded size of one event's frame: what the maxEventBytes limit is checked against. */
export function frameSize(streamId: string, commandId: string | undefined, e: NormalizedEvent): number {
  return (
    FRAME_HEADER_SIZE +
    BODY_FIXED_SIZE +
    Buffer.byteLength(streamId) +
    Buffer.byteLength(e.type) +
    idBytes(e.id) +
    (commandId === undefined ? 0 : Buffer.byteLength(commandId)) +
    payloadLength(e.data) +
    payloadLength(e.metadata)
  );
}

function idBytes(id: string | undefined): number {
  return id === undefined || isPackedUuid(id) ? UUID_BYTES : Buffer.byteLength(id);
}

/** Writes the event id; true when it went in as 16 UUID bytes. */
function writeId(buf: Buffer, off: number, id: string | undefined): boolean {
  if (id === undefined) writeRandomUuid(buf, off);
  else if (isPackedUuid(id)) writeUuid(buf, off, id);
  else {
    buf.write(id, off);
    return false;
  }
  return true;
}

function writePayload(buf: Buffer, off: number, p: Uint8Array | string | undefined): number {
  if (p === undefined) return 0;
  if (typeof p === 'string') return buf.write(p, off);
  buf.set(p, off);
  return p.length;
}

/**
 * Encodes one transaction. `lastPositions` maps a stream to its newest position and is shared by
 * the transactions of one call (updated as each is placed), so a stream written by several of
 * them chains its back-pointers correctly; a stream missing from it uses the item's prevPosition.
 */
export function encodeTransaction(
  items: TransactionItem[],
  timestamp: number,
  lastPositions: Map<string, number> = new Map(),
): EncodedTransaction {
  let total = 0;
  const sizes: number[] = [];
  for (const item of items) {
    for (const e of item.events) {
      const size = frameSize(item.streamId, item.commandId, e);
      sizes.push(size);
      total += size;
    }
  }
  const buf = Buffer.alloc(total);
  const frameOffsets: number[] = [];
  let off = 0;
  let k = 0;
  for (const item of items) {
    const sid = Buffer.byteLength(item.streamId);
    const cid = item.commandId === undefined ? 0 : Buffer.byteLength(item.commandId);
    item.events.forEach((e, i) => {
      const size = sizes[k++] as number;
      frameOffsets.push(off);
      buf.writeUInt32LE(size, off);
      buf[off + 8] = RECORD_KIND_EVENT;
      const b = off + FRAME_HEADER_SIZE;
      buf.writeUIntLE(timestamp, b + 8, 6);
      buf.writeUInt32LE(item.firstVersion + i, b + 16);
      buf.writeUInt16LE(sid, b + 20);
      let p = b + BODY_FIXED_SIZE + sid;
      buf.write(item.streamId, b + BODY_FIXED_SIZE);
      const typeLen = buf.write(e.type, p);
      p += typeLen;
      const packedId = writeId(buf, p, e.id);
      const idLen = packedId ? UUID_BYTES : Buffer.byteLength(e.id as string);
      p += idLen;
      if (item.commandId !== undefined) p += buf.write(item.commandId, p);
      const dataLen = writePayload(buf, p, e.data);
      p += dataLen;
      const metaLen = writePayload(buf, p, e.metadata);
      buf.writeUInt16LE(typeLen, b + 22);
      buf.writeUInt16LE(idLen, b + 24);
      buf.writeUInt16LE(cid, b + 26);
      buf.writeUInt32LE(dataLen, b + 28);
      buf.writeUInt32LE(metaLen, b + 32);
      buf[b + 36] =
        (packedId ? ID_UUID16 : 0) |
        (e.data === undefined ? DATA_ABSENT : typeof e.data === 'string' ? 0 : DATA_BYTES) |
        (e.metadata === undefined ? META_ABSENT : typeof e.metadata === 'string' ? 0 : META_BYTES);
      off += size;
    });
  }
  if (total > 0) buf[(frameOffsets[frameOffsets.length - 1] as number) + 9] = FRAME_FLAG_COMMIT;
  return {
    buf,
    frameOffsets,
    place(start: number): void {
      // Each stream's first event points at its newest stored event; later ones at their
      // predecessor in this transaction (a stream may appear in several items).
      let f = 0;
      for (const item of items) {
        let prev = lastPositions.get(item.streamId) ?? item.prevPosition;
        for (let i = 0; i < item.events.length; i++) {
          const frameOff = frameOffsets[f++] as number;
          buf.writeUIntLE(prev, frameOff + FRAME_HEADER_SIZE, 6);
          prev = start + frameOff;
        }
        lastPositions.set(item.streamId, prev);
      }
    },
  };
}

function readPayload(buf: Buffer, start: number, len: number, bytes: boolean, absent: boolean): unknown {
  if (absent) return undefined;
  if (bytes) return new Uint8Array(buf.subarray(start, start + len));
  return JSON.parse(utf8Text(buf, start, start + len));
}

/** The event in the frame at `off` of `buf` (already CRC-verified by the engine), decoded straight
 * into the object the API returns. */
export function decodeEvent(buf: Buffer, off: number, position: number): RecordedEvent {
  const b = off + FRAME_HEADER_SIZE;
  const sid = u16(buf, b + 20);
  const typeLen = u16(buf, b + 22);
  const idLen = u16(buf, b + 24);
  const cid = u16(buf, b + 26);
  const dataLen = u32(buf, b + 28);
  const metaLen = u32(buf, b + 32);
  const flags = buf[b + 36] as number;
  let p = b + BODY_FIXED_SIZE;
  const streamId = cachedString(buf, p, p + sid);
  p += sid;
  const type = cachedString(buf, p, p + typeLen);
  p += typeLen;
  const id = (flags & ID_UUID16) !== 0 && idLen === UUID_BYTES ? readUuid(buf, p) : utf8Text(buf, p, p + idLen);
  p += idLen;
  const commandId = cid > 0 ? utf8Text(buf, p, p + cid) : undefined;
  p += cid;
  const data = readPayload(buf, p, dataLen, (flags & DATA_BYTES) !== 0, (flags & DATA_ABSENT) !== 0);
  p += dataLen;
  const metadata = readPayload(buf, p, metaLen, (flags & META_BYTES) !== 0, (flags & META_ABSENT) !== 0);
  const e: RecordedEvent = {
    streamId,
    version: u32(buf, b + 16),
    type,
    data,
    metadata,
    id,
    timestamp: u32(buf, b + 8) + u16(buf, b + 12) * 0x1_0000_0000,
    position,
  };
  if (commandId !== undefined) e.commandId = commandId;
  return e;
}

/** Reads only what the in-memory indexes need, without touching payloads. */
export function decodeIndexFields(buf: Buffer, off: number): { streamId: string; version: number; commandId: string | undefined } {
  const b = off + FRAME_HEADER_SIZE;
  const sid = u16(buf, b + 20);
  const typeLen = u16(buf, b + 22);
  const idLen = u16(buf, b + 24);
  const cid = u16(buf, b + 26);
  const s = b + BODY_FIXED_SIZE;
  const c = s + sid + typeLen + idLen;
  return {
    streamId: cachedString(buf, s, s + sid),
    version: u32(buf, b + 16),
    commandId: cid > 0 ? utf8Text(buf, c, c + cid) : undefined,
  };
}
