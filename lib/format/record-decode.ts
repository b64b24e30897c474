/**
 * Decoding of event record bodies (their layout and flags: record-codec.ts, which encodes them; the
 * v1 body: record-body-v1.ts). Every decoder first reads the body's header and checks that its
 * fields fill the frame exactly (readHeader): a body that does not is corrupt. The frame itself was
 * checked (length, CRC) by the engine that read it.
 */
import { CorruptionError } from '../errors.js';
import type { RecordedEvent } from '../types.js';
import { derivedUuid, readUuid, UUID_BYTES } from './event-id.js';
import { type JsonBatch, parseJsonPayload } from './json-batch.js';
import { type Key, keyOfBytes } from './key-hash.js';
import { FRAME_HEADER_SIZE, RECORD_KIND_EVENT, RECORD_KIND_EVENT_V1 } from './layout.js';
import { u16, u32 } from './le-bytes.js';
import { readBodyV1Header } from './record-body-v1.js';
import {
  BODY_FIXED_SIZE,
  DATA_ABSENT,
  DATA_BYTES,
  HAS_COMMAND,
  ID_DERIVED,
  ID_UUID16,
  KNOWN_FLAGS,
  META_ABSENT,
  META_BYTES,
} from './record-codec.js';
import { cachedString } from './string-cache.js';
import { utf8Text } from './text.js';

/**
 * The decoded header of the body being read, either kind: version, stream id, type, event id,
 * command id, data and metadata bytes, payload flags, timestamp. One scratch array, because decoding
 * is synchronous and runs for every event read.
 */
const head = new Float64Array(9);

let cursor = 0;
function readVarint(buf: Buffer): number {
  let byte = buf[cursor++] as number;
  if (byte < 0x80) return byte;
  let v = byte & 0x7f;
  let scale = 0x80;
  for (let i = 1; i < 5; i++) {
    byte = buf[cursor++] as number;
    v += (byte & 0x7f) * scale;
    if (byte < 0x80) return v;
    scale *= 0x80;
  }
  return Number.NaN; // over five bytes: no length of ours; the bounds check below refuses it
}

/** Reads the header of the frame at `off` into `head` and returns where its fields start, after
 * checking that they end exactly at the frame's end. */
function readHeader(buf: Buffer, off: number, position: number): number {
  const b = off + FRAME_HEADER_SIZE;
  const kind = buf[off + 8];
  let fields: number;
  if (kind === RECORD_KIND_EVENT) {
    head[8] = u32(buf, b + 6) + u16(buf, b + 10) * 0x1_0000_0000;
    head[0] = u32(buf, b + 12);
    const flags = buf[b + 16] as number;
    if ((flags & ~KNOWN_FLAGS) !== 0)
      throw new CorruptionError(`record at position ${position} has unknown payload flags ${flags}`, false, position);
    head[7] = flags;
    cursor = b + BODY_FIXED_SIZE;
    head[1] = readVarint(buf);
    head[2] = readVarint(buf);
    if ((flags & ID_UUID16) !== 0 && (flags & ID_DERIVED) !== 0) {
      throw new CorruptionError(
        `record at position ${position} has payload flags ${flags}: its id cannot be both stored and derived`,
        false,
        position,
      );
    }
    head[3] = (flags & ID_UUID16) !== 0 ? UUID_BYTES : (flags & ID_DERIVED) !== 0 ? 0 : readVarint(buf);
    head[4] = (flags & HAS_COMMAND) !== 0 ? readVarint(buf) : 0;
    head[5] = (flags & DATA_ABSENT) !== 0 ? 0 : readVarint(buf);
    head[6] = (flags & META_ABSENT) !== 0 ? 0 : readVarint(buf);
    fields = cursor;
  } else if (kind === RECORD_KIND_EVENT_V1) {
    fields = readBodyV1Header(buf, b, head);
  } else {
    throw new CorruptionError(`record at position ${position} has unknown kind ${kind}`, false, position);
  }
  const end =
    fields +
    (head[1] as number) +
    (head[2] as number) +
    (head[3] as number) +
    (head[4] as number) +
    (head[5] as number) +
    (head[6] as number);
  if (end !== off + u32(buf, off))
    throw new CorruptionError(`record at position ${position}: its fields do not fill its frame`, false, position);
  return fields;
}

function readPayload(buf: Buffer, start: number, len: number, bytes: boolean, absent: boolean, position: number): unknown {
  if (absent) return undefined;
  if (bytes) return new Uint8Array(buf.subarray(start, start + len));
  return parseJsonPayload(buf, start, len, position);
}

/** The event in the frame at `off` of `buf` (already CRC-verified by the engine), decoded straight
 * into the object the API returns. `identity`: the store's (OpenReport), for derived ids. With
 * `json`, JSON payloads are left to it (json-batch.ts): the event's data and metadata are only
 * complete after `json.flush()`. */
export function decodeEvent(buf: Buffer, off: number, position: number, identity: number, json?: JsonBatch): RecordedEvent {
  let p = readHeader(buf, off, position);
  const sid = head[1] as number;
  const typeLen = head[2] as number;
  const idLen = head[3] as number;
  const cid = head[4] as number;
  const dataLen = head[5] as number;
  const flags = head[7] as number;
  const streamId = cachedString(buf, p, p + sid);
  p += sid;
  const type = cachedString(buf, p, p + typeLen);
  p += typeLen;
  let id: string;
  if ((flags & ID_DERIVED) !== 0) {
    if (identity === 0)
      throw new CorruptionError(`record at position ${position} derives its id, but the store has no identity`, false, position);
    id = derivedUuid(head[8] as number, identity, position);
  } else id = (flags & ID_UUID16) !== 0 && idLen === UUID_BYTES ? readUuid(buf, p) : utf8Text(buf, p, p + idLen);
  p += idLen;
  const commandId = cid > 0 ? utf8Text(buf, p, p + cid) : undefined;
  p += cid;
  const dataStart = p;
  const dataJson = json !== undefined && (flags & (DATA_BYTES | DATA_ABSENT)) === 0;
  const data = dataJson ? undefined : readPayload(buf, p, dataLen, (flags & DATA_BYTES) !== 0, (flags & DATA_ABSENT) !== 0, position);
  p += dataLen;
  const metaLen = head[6] as number;
  const metaJson = json !== undefined && (flags & (META_BYTES | META_ABSENT)) === 0;
  const metadata = metaJson ? undefined : readPayload(buf, p, metaLen, (flags & META_BYTES) !== 0, (flags & META_ABSENT) !== 0, position);
  const e: RecordedEvent = {
    streamId,
    version: head[0] as number,
    type,
    data,
    metadata,
    id,
    timestamp: head[8] as number,
    position,
  };
  if (commandId !== undefined) e.commandId = commandId;
  if (dataJson) json.add(e, false, buf, dataStart, dataLen, position);
  if (metaJson) json.add(e, true, buf, p, metaLen, position);
  return e;
}

/** The id of the event in the frame at `off` (one this store encoded): the caller's, a random
 * one written at encoding, or derived from the store identity and `position` (event-id.ts). */
export function eventIdAt(buf: Buffer, off: number, position: number, identity: number): string {
  const p = readHeader(buf, off, position) + (head[1] as number) + (head[2] as number);
  const idLen = head[3] as number;
  const flags = head[7] as number;
  if ((flags & ID_DERIVED) !== 0) return derivedUuid(head[8] as number, identity, position);
  return (flags & ID_UUID16) !== 0 && idLen === UUID_BYTES ? readUuid(buf, p) : utf8Text(buf, p, p + idLen);
}

/** Whether the (CRC-valid) event frame at `off` derives its id from the store identity. */
export function derivesId(buf: Buffer, off: number): boolean {
  return buf[off + 8] === RECORD_KIND_EVENT && ((buf[off + FRAME_HEADER_SIZE + 16] as number) & ID_DERIVED) !== 0;
}

/** Reads only what the in-memory indexes need, without touching payloads. `position` names the
 * record in a corruption error. */
export function decodeIndexFields(
  buf: Buffer,
  off: number,
  position: number,
): { streamId: string; version: number; commandId: string | undefined; type: string } {
  const s = readHeader(buf, off, position);
  const sid = head[1] as number;
  const typeLen = head[2] as number;
  const cid = head[4] as number;
  const c = s + sid + typeLen + (head[3] as number);
  return {
    streamId: cachedString(buf, s, s + sid),
    version: head[0] as number,
    commandId: cid > 0 ? utf8Text(buf, c, c + cid) : undefined,
    type: cachedString(buf, s + sid, s + sid + typeLen),
  };
}

/**
 * Where the stream id and the type of the (CRC-valid) event frame at `off` lie in `buf`, without
 * making strings: for filters that compare bytes. Returns the stream id's start; its length and
 * the type's (which follows it) are in `out[0]` and `out[1]`.
 */
export function idAndTypeBytes(buf: Buffer, off: number, position: number, out: Uint32Array): number {
  const s = readHeader(buf, off, position);
  out[0] = head[1] as number;
  out[1] = head[2] as number;
  return s;
}

/** The 48-bit key of the command id of the event frame at `off` (lib/format/key-hash.ts), from its
 * bytes; undefined when it has none. For a scavenge's removed frames (scavenged-chunk.ts keeps the
 * keys). */
export function commandKeyAt(buf: Buffer, off: number, position: number): Key | undefined {
  const s = readHeader(buf, off, position);
  const cid = head[4] as number;
  if (cid === 0) return undefined;
  const c = s + (head[1] as number) + (head[2] as number) + (head[3] as number);
  return keyOfBytes(buf.subarray(c, c + cid));
}

/** What retention rules judge an event by (stream id, version, timestamp), without its payloads:
 * for a scavenge's pass over sealed chunks and the reclaimable-bytes estimate. */
export function decodeRetentionFields(
  buf: Buffer,
  off: number,
  position: number,
): { streamId: string; version: number; timestamp: number } {
  const s = readHeader(buf, off, position);
  return { streamId: cachedString(buf, s, s + (head[1] as number)), version: head[0] as number, timestamp: head[8] as number };
}

/** decodeRetentionFields without a string: returns where the stream id starts and writes its byte
 * length, the version and the timestamp to out[0..2] (a scavenge's pass, scavenge-pass.ts). */
export function retentionFieldsAt(buf: Buffer, off: number, position: number, out: Float64Array): number {
  const s = readHeader(buf, off, position);
  out[0] = head[1] as number;
  out[1] = head[0] as number;
  out[2] = head[8] as number;
  return s;
}
