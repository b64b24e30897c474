/**
 * Event record bodies, inside the frame of lib/format/layout.ts. Frame kind 2 (RECORD_KIND_EVENT)
 * holds the compact body that every append writes:
 *
 *   0  u48 previous position of the same stream (0 = first event): ENode's back-pointer
 *   6  u48 timestamp (ms)        12 u32 stream version        16 u8 payload flags
 *   17 LEB128 varints: stream id bytes, type bytes, event id bytes (absent under ID_UUID16: 16,
 *      and under ID_DERIVED: 0),
 *      command id bytes (absent without HAS_COMMAND), data bytes (absent under DATA_ABSENT),
 *      metadata bytes (absent under META_ABSENT)
 *   then stream id | type | event id | command id | data | metadata   (strings UTF-8)
 *
 * The fixed fields stay fixed-width because the back-pointer is patched after placement and the
 * version is only known after validation (which checks the encoded size): neither may change a
 * frame's length. The lengths are varints: a typical event spends 5 bytes on them where the v1
 * body (frame kind 1, record-body-v1.ts, still read) spent 16 plus 3 of padding.
 *
 * Payload flags: DATA_BYTES / META_BYTES (raw bytes, else JSON text), DATA_ABSENT / META_ABSENT,
 * ID_UUID16 (the event id is a UUID stored as its 16 bytes: lib/format/event-id.ts), HAS_COMMAND,
 * ID_DERIVED (the store generated the id from its identity, the timestamp and the position, so it
 * stores none: event-id.ts; written only into chunks whose header carries the identity).
 * Decoding (record-decode.ts) checks that the fields add up to the frame's length: a body that does
 * not is corrupt.
 * Encoding is per transaction (one atomic append): frames are laid out first, the placement decided,
 * then the back-pointers patched, since they are absolute positions.
 */

import { isPackedUuid, UUID_BYTES, writeRandomUuid, writeUuid } from './event-id.js';
import { FRAME_FLAG_COMMIT, FRAME_HEADER_SIZE, RECORD_KIND_EVENT } from './layout.js';
import { utf8Length, writeUtf8 } from './text.js';

export const BODY_FIXED_SIZE = 17;
export const DATA_BYTES = 1;
export const META_BYTES = 2;
export const DATA_ABSENT = 4;
export const META_ABSENT = 8;
export const ID_UUID16 = 16;
export const HAS_COMMAND = 32;
export const ID_DERIVED = 64;
export const KNOWN_FLAGS = DATA_BYTES | META_BYTES | DATA_ABSENT | META_ABSENT | ID_UUID16 | HAS_COMMAND | ID_DERIVED;
/** Event id length markers in the measured lengths: no varint, 16 bytes / no bytes at all. */
const ID_PACKED = -1;
const ID_FROM_POSITION = -2;

/** An event after validation: payloads already turned into bytes or JSON text. */
export interface NormalizedEvent {
  type: string;
  /** The caller's id; undefined: the store derives one (event-id.ts). */
  id: string | undefined;
  data: Uint8Array | string | undefined;
  metadata: Uint8Array | string | undefined;
  /** UTF-8 bytes of a JSON `data` / `metadata`, when validation has counted them already. */
  dataBytes?: number;
  metadataBytes?: number;
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

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : n < 0x1000_0000 ? 4 : 5;
}

function writeVarint(buf: Buffer, off: number, n: number): number {
  let v = n;
  while (v >= 0x80) {
    buf[off++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[off++] = v;
  return off;
}

function payloadLength(p: Uint8Array | string, counted: number | undefined): number {
  return typeof p === 'string' ? (counted ?? Buffer.byteLength(p)) : p.length;
}

/**
 * Fills out[at, at + 6) with the byte lengths of one event's variable fields, in body order
 * (negative: the field has no length varint; for the id, ID_PACKED or ID_FROM_POSITION) and returns
 * the event's encoded frame size. Without `deriveId` an event without an id gets a random one.
 */
function measure(
  streamId: string,
  commandId: string | undefined,
  e: NormalizedEvent,
  deriveId: boolean,
  out: Float64Array,
  at: number,
): number {
  out[at] = utf8Length(streamId);
  out[at + 1] = utf8Length(e.type);
  out[at + 2] = e.id === undefined ? (deriveId ? ID_FROM_POSITION : ID_PACKED) : isPackedUuid(e.id) ? ID_PACKED : utf8Length(e.id);
  out[at + 3] = commandId === undefined ? -1 : utf8Length(commandId);
  out[at + 4] = e.data === undefined ? -1 : payloadLength(e.data, e.dataBytes);
  out[at + 5] = e.metadata === undefined ? -1 : payloadLength(e.metadata, e.metadataBytes);
  let size = FRAME_HEADER_SIZE + BODY_FIXED_SIZE + (out[at + 2] === ID_PACKED ? UUID_BYTES : 0);
  for (let i = at; i < at + 6; i++) {
    const n = out[i] as number;
    if (n >= 0) size += varintSize(n) + n;
  }
  return size;
}

const scratchLengths = new Float64Array(6);
/** The field lengths of the transaction being encoded (encoding is synchronous): reused, not
 * allocated per append. */
let encodeLens = new Float64Array(6 * 128);

/** Encoded size of one event's frame where the store cannot derive ids, the most it can take:
 * what the maxEventBytes limit is checked against, so the limit does not depend on the chunk. */
export function frameSize(streamId: string, commandId: string | undefined, e: NormalizedEvent): number {
  return measure(streamId, commandId, e, false, scratchLengths, 0);
}

function writePayload(buf: Buffer, off: number, p: Uint8Array | string | undefined, bytes: number): number {
  if (p === undefined) return off;
  if (typeof p === 'string') return writeUtf8(buf, off, p, bytes);
  buf.set(p, off);
  return off + p.length;
}

/** Writes one event's frame at `off` (back-pointer left 0), its field lengths at lens[at, at + 6),
 * and returns its end. */
function writeFrame(
  buf: Buffer,
  off: number,
  item: TransactionItem,
  e: NormalizedEvent,
  version: number,
  timestamp: number,
  lens: Float64Array,
  at: number,
): number {
  const b = off + FRAME_HEADER_SIZE;
  // CRC and generation (the engine stamps them), flags (COMMIT is set on the transaction's last
  // frame), reserved, and the back-pointer (patched by place()): zero until then.
  buf.writeUInt32LE(0, off + 4);
  buf.writeUInt32LE(0, off + 8);
  buf.writeUInt32LE(0, off + 12);
  buf.writeUIntLE(0, b, 6);
  buf[off + 8] = RECORD_KIND_EVENT;
  buf.writeUIntLE(timestamp, b + 6, 6);
  buf.writeUInt32LE(version, b + 12);
  const idLength = lens[at + 2] as number;
  buf[b + 16] =
    (idLength === ID_PACKED ? ID_UUID16 : idLength === ID_FROM_POSITION ? ID_DERIVED : 0) |
    (item.commandId === undefined ? 0 : HAS_COMMAND) |
    (e.data === undefined ? DATA_ABSENT : typeof e.data === 'string' ? 0 : DATA_BYTES) |
    (e.metadata === undefined ? META_ABSENT : typeof e.metadata === 'string' ? 0 : META_BYTES);
  let p = b + BODY_FIXED_SIZE;
  for (let i = at; i < at + 6; i++) {
    const n = lens[i] as number;
    if (n >= 0) p = writeVarint(buf, p, n);
  }
  p = writeUtf8(buf, p, item.streamId, lens[at] as number);
  p = writeUtf8(buf, p, e.type, lens[at + 1] as number);
  if (idLength >= 0) p = writeUtf8(buf, p, e.id as string, idLength);
  else if (idLength === ID_PACKED) {
    if (e.id === undefined) writeRandomUuid(buf, p);
    else writeUuid(buf, p, e.id);
    p += UUID_BYTES;
  }
  if (item.commandId !== undefined) p = writeUtf8(buf, p, item.commandId, lens[at + 3] as number);
  p = writePayload(buf, p, e.data, lens[at + 4] as number);
  return writePayload(buf, p, e.metadata, lens[at + 5] as number);
}

/**
 * Encodes one transaction. `lastPositions` maps a stream to its newest position and is shared by
 * the transactions of one call (updated as each is placed), so a stream written by several of
 * them chains its back-pointers correctly; a stream missing from it uses the item's prevPosition.
 * `deriveIds`: events without an id store none (ID_DERIVED); only for a transaction that will land
 * in a chunk whose header carries the store identity. Otherwise they get a random UUID.
 */
export function encodeTransaction(
  items: TransactionItem[],
  timestamp: number,
  lastPositions: Map<string, number> | undefined,
  deriveIds: boolean,
): EncodedTransaction {
  let count = 0;
  for (const item of items) count += item.events.length;
  const sizes = new Array<number>(count);
  if (6 * count > encodeLens.length) encodeLens = new Float64Array(Math.max(6 * count, 2 * encodeLens.length));
  const lens = encodeLens;
  let total = 0;
  let k = 0;
  for (const item of items) {
    for (const e of item.events) {
      const size = measure(item.streamId, item.commandId, e, deriveIds, lens, 6 * k);
      sizes[k++] = size;
      total += size;
    }
  }
  // From Node's shared pool when small, so a single-event append mallocs no backing store of its
  // own; not zeroed: writeFrame writes every byte of a frame.
  const buf = Buffer.allocUnsafe(total);
  const frameOffsets = new Array<number>(count);
  let off = 0;
  k = 0;
  for (const item of items) {
    for (let i = 0; i < item.events.length; i++) {
      const size = sizes[k] as number;
      frameOffsets[k] = off;
      buf.writeUInt32LE(size, off);
      const end = writeFrame(buf, off, item, item.events[i] as NormalizedEvent, item.firstVersion + i, timestamp, lens, 6 * k);
      // The encoder and the size check must agree to the byte, or frames would overlap.
      if (end !== off + size) throw new Error(`record encoder wrote ${end - off} bytes of a ${size}-byte frame`);
      off = end;
      k++;
    }
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
        let prev = lastPositions?.get(item.streamId) ?? item.prevPosition;
        for (let i = 0; i < item.events.length; i++) {
          const frameOff = frameOffsets[f++] as number;
          buf.writeUIntLE(prev, frameOff + FRAME_HEADER_SIZE, 6);
          prev = start + frameOff;
        }
        lastPositions?.set(item.streamId, prev);
      }
    },
  };
}
