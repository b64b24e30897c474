/**
 * Checks of every argument a write takes, before anything is written: a bad append rejects with
 * INVALID_ARGUMENT or LIMIT_EXCEEDED and leaves the store unchanged. Payloads are turned into their
 * stored form here (JSON text or bytes) exactly once.
 */
import { describeValue } from './arg-checks.js';
import { type ExpectedVersion, InvalidArgumentError, LimitExceededError } from './errors.js';
import { maxTransactionBytes } from './format/layout.js';
import { frameSize, type NormalizedEvent } from './format/record-codec.js';
import { utf8Length } from './format/text.js';
import type { ResolvedLimits } from './options.js';
import type { EventData } from './types.js';

const MAX_ID_BYTES = 1024;
const MAX_VERSION = 0xffffffff;

export function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** A control character (Unicode Cc: C0 with tabs and line breaks, DEL, C1) anywhere, or nothing but
 * white space (ECMAScript's: spaces, no-break and other Unicode spaces). One test per append. */
const UNPRINTABLE_ID = /\p{Cc}|^\s+$/u;

/**
 * A stream id as every method takes it. `forWrite` (append, appendMany, saveSnapshot) also
 * refuses ids that are only white space or hold control characters: they print as nothing or break
 * a line in logs, NDJSON exports and URLs. Reads accept them, so that streams written before that
 * rule stay readable.
 */
export function checkStreamId(streamId: unknown, limits: ResolvedLimits, forWrite = false): string {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new InvalidArgumentError(`streamId must be a non-empty string, got ${describeValue(streamId)}`);
  }
  if (!streamId.isWellFormed()) throw new InvalidArgumentError(`streamId contains a lone surrogate: ${describeValue(streamId)}`);
  // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4): short ids
  // need no byte count, a call into C++ on every append and lookup.
  if (streamId.length * 3 > limits.maxStreamIdBytes && Buffer.byteLength(streamId) > limits.maxStreamIdBytes) {
    throw new LimitExceededError(`streamId is longer than ${limits.maxStreamIdBytes} bytes`);
  }
  if (forWrite && UNPRINTABLE_ID.test(streamId)) {
    throw new InvalidArgumentError(`streamId must not be blank or hold control characters, got ${describeValue(streamId)}`);
  }
  return streamId;
}

export function checkCommandId(commandId: unknown): string | undefined {
  if (commandId === undefined) return undefined;
  if (typeof commandId !== 'string' || commandId.length === 0 || !commandId.isWellFormed()) {
    throw new InvalidArgumentError(`commandId must be a non-empty string, got ${describeValue(commandId)}`);
  }
  if (commandId.length * 3 > MAX_ID_BYTES && Buffer.byteLength(commandId) > MAX_ID_BYTES) {
    throw new LimitExceededError(`commandId is longer than ${MAX_ID_BYTES} bytes`);
  }
  return commandId;
}

export function checkExpectedVersion(v: unknown): ExpectedVersion {
  if (v === undefined) return 'any';
  if (v === 'any' || v === 'no_stream' || v === 'stream_exists') return v;
  if (isNonNegativeInteger(v) && v <= MAX_VERSION) return v;
  throw new InvalidArgumentError(
    `expectedVersion must be a non-negative integer, 'no_stream', 'stream_exists' or 'any', got ${describeValue(v)}`,
  );
}

/** True when a stream at `actual` satisfies `expected`. */
export function versionMatches(expected: ExpectedVersion, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 0;
  if (expected === 'stream_exists') return actual > 0;
  return expected === actual;
}

/** `events[i].field` as JSON text or bytes. The name is built only for an error: this runs twice
 * for every event appended. */
function encodePayload(i: number, field: 'data' | 'metadata', value: unknown): Uint8Array | string | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Uint8Array) return value;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new InvalidArgumentError(`events[${i}].${field} cannot be encoded as JSON: ${(err as Error).message}`);
  }
  if (json === undefined) throw new InvalidArgumentError(`events[${i}].${field} cannot be encoded as JSON`);
  return json;
}

export function normalizeEvents(
  streamId: string,
  commandId: string | undefined,
  events: unknown,
  limits: ResolvedLimits,
  chunkSize: number,
): NormalizedEvent[] {
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidArgumentError(`events must be a non-empty array, got ${describeValue(events)}`);
  }
  if (events.length > limits.maxEventsPerAppend) {
    throw new LimitExceededError(`an append holds at most ${limits.maxEventsPerAppend} events, got ${events.length}`);
  }
  let total = 0;
  return events.map((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null)
      throw new InvalidArgumentError(`events[${i}] must be an object, got ${describeValue(raw)}`);
    const e = raw as EventData;
    if (typeof e.type !== 'string' || e.type.length === 0 || !e.type.isWellFormed()) {
      throw new InvalidArgumentError(`events[${i}].type must be a non-empty string, got ${describeValue(e.type)}`);
    }
    if (utf8Length(e.type) > limits.maxEventTypeBytes) {
      throw new LimitExceededError(`events[${i}].type is longer than ${limits.maxEventTypeBytes} bytes`);
    }
    if (e.id !== undefined && (typeof e.id !== 'string' || e.id.length === 0 || !e.id.isWellFormed())) {
      throw new InvalidArgumentError(`events[${i}].id must be a non-empty string, got ${describeValue(e.id)}`);
    }
    if (e.id !== undefined && utf8Length(e.id) > MAX_ID_BYTES) {
      throw new LimitExceededError(`events[${i}].id is longer than ${MAX_ID_BYTES} bytes`);
    }
    const data = encodePayload(i, 'data', e.data);
    const metadata = encodePayload(i, 'metadata', e.metadata);
    // JSON is counted once here, for the size check and then for the encoder.
    const n: NormalizedEvent = {
      type: e.type,
      id: e.id,
      data,
      metadata,
      dataBytes: typeof data === 'string' ? Buffer.byteLength(data) : undefined,
      metadataBytes: typeof metadata === 'string' ? Buffer.byteLength(metadata) : undefined,
    };
    const size = frameSize(streamId, commandId, n);
    if (size > limits.maxEventBytes) {
      throw new LimitExceededError(`events[${i}] encodes to ${size} bytes, over maxEventBytes ${limits.maxEventBytes}`);
    }
    total += size;
    if (total > maxTransactionBytes(chunkSize)) {
      throw new LimitExceededError(`the append encodes to more than a chunk holds (${maxTransactionBytes(chunkSize)} bytes)`);
    }
    return n;
  });
}

export function optionalCount(name: string, v: unknown): void {
  if (v !== undefined && !isNonNegativeInteger(v))
    throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${describeValue(v)}`);
}
