/**
 * What crosses between Emmett's shapes and annals': expected versions (Emmett's constants and
 * bigint versions to annals' ExpectedVersion), version conflicts (WrongExpectedVersionError to
 * Emmett's ExpectedVersionConflictError, which its command handlers retry), events (an Emmett
 * event to an annals EventData, a RecordedEvent to an Emmett ReadEvent carrying messageId,
 * streamName, streamPosition and globalPosition) and JSON of bigint values (the replacer and
 * reviver of AnnalsJsonOptions).
 */
import {
  type Event,
  type ExpectedStreamVersion,
  ExpectedVersionConflictError,
  NO_CONCURRENCY_CHECK,
  type ReadEvent,
  type ReadEventMetadataWithGlobalPosition,
  STREAM_DOES_NOT_EXIST,
  STREAM_EXISTS,
} from '@event-driven-io/emmett';
import { describeValue } from '../arg-checks.js';
import { type ExpectedVersion, InvalidArgumentError, WrongExpectedVersionError } from '../errors.js';
import type { EventData, RecordedEvent } from '../types.js';

/** The metadata of every event an annals Emmett store reads: Emmett's, with a global position. */
export type AnnalsReadEventMetadata = ReadEventMetadataWithGlobalPosition;
export type AnnalsReadEvent<E extends Event = Event> = ReadEvent<E, AnnalsReadEventMetadata>;

/** A key/value function of JSON.stringify's replacer or JSON.parse's reviver. */
export type JsonTransform = (this: unknown, key: string, value: unknown) => unknown;

/**
 * How event data and metadata become JSON. `replacer` runs on every value appended (default:
 * bigint values become their decimal string, as Emmett's own serializer writes them; any other
 * value is kept); `reviver` on every value read (default: none), e.g. to turn those strings back
 * into bigints.
 */
export interface AnnalsJsonOptions {
  replacer?: JsonTransform;
  reviver?: JsonTransform;
}

const MAX_VERSION = 0xffffffff;

/** Emmett's expected version as annals'; bad input is INVALID_ARGUMENT. */
export function toExpectedVersion(expected: unknown, what = 'expectedStreamVersion'): ExpectedVersion {
  if (expected === undefined || expected === NO_CONCURRENCY_CHECK) return 'any';
  if (expected === STREAM_DOES_NOT_EXIST) return 'no_stream';
  if (expected === STREAM_EXISTS) return 'stream_exists';
  const n = typeof expected === 'bigint' ? Number(expected) : expected;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_VERSION) return n;
  throw new InvalidArgumentError(
    `${what} must be a stream version (a bigint from 0 to 2^32 - 1), STREAM_EXISTS, STREAM_DOES_NOT_EXIST or NO_CONCURRENCY_CHECK, got ${describeExpected(expected)}`,
  );
}

function describeExpected(v: unknown): string {
  return typeof v === 'bigint' ? `the bigint ${v}` : describeValue(v);
}

/** Whether a stream at `current` (0: no events) meets Emmett's expected version. */
export function expectedMatches(expected: ExpectedVersion, current: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return current === 0;
  if (expected === 'stream_exists') return current > 0;
  return expected === current;
}

export function conflict(current: number, expected: ExpectedStreamVersion | undefined): ExpectedVersionConflictError {
  return new ExpectedVersionConflictError(BigInt(current), expected ?? NO_CONCURRENCY_CHECK);
}

/** A WrongExpectedVersionError of `streamId` as Emmett's conflict; any other error unchanged. */
export function emmettError(err: unknown, streamId: string, expected: ExpectedStreamVersion | undefined): unknown {
  if (err instanceof WrongExpectedVersionError && err.streamId === streamId) return conflict(err.actualVersion, expected);
  return err;
}

/** Applies `replacer` through `value` as JSON.stringify would, without making the text: the
 * store stringifies the result once. Values without a bigint or a custom replacer come back as
 * they are. */
export function replaceJson(value: unknown, replacer: JsonTransform | undefined): unknown {
  if (value === undefined || value instanceof Uint8Array) return value;
  if (replacer === undefined) return hasBigint(value, 0) ? JSON.parse(JSON.stringify(value, bigintAsString)) : value;
  return JSON.parse(JSON.stringify(value, replacer) ?? 'null');
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Nesting past this depth is left to JSON.stringify, which then reports the bigint it meets. */
const MAX_SCAN_DEPTH = 64;

function hasBigint(v: unknown, depth: number): boolean {
  if (typeof v === 'bigint') return true;
  if (typeof v !== 'object' || v === null || depth > MAX_SCAN_DEPTH) return false;
  if (Array.isArray(v)) return v.some((x) => hasBigint(x, depth + 1));
  for (const k in v) if (hasBigint((v as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

/** Applies a reviver to a parsed value as JSON.parse would: depth first, the holder as `this`. */
export function reviveJson(value: unknown, reviver: JsonTransform | undefined): unknown {
  if (reviver === undefined || value === undefined || value instanceof Uint8Array) return value;
  const root = { '': value };
  return walk(root, '', reviver);
}

function walk(holder: Record<string, unknown>, key: string, reviver: JsonTransform): unknown {
  const v = holder[key];
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const r = walk(o, k, reviver);
      if (r === undefined) delete o[k];
      else o[k] = r;
    }
  }
  return reviver.call(holder, key, v);
}

/** An Emmett event as annals stores it: its metadata kept as the event's metadata. */
export function toEventData(e: unknown, i: number, json: AnnalsJsonOptions, id?: string): EventData {
  if (typeof e !== 'object' || e === null || Array.isArray(e))
    throw new InvalidArgumentError(`events[${i}] must be an Emmett event ({ type, data }), got ${describeValue(e)}`);
  const { type, data, metadata } = e as { type?: unknown; data?: unknown; metadata?: unknown };
  if (typeof type !== 'string') throw new InvalidArgumentError(`events[${i}].type must be a string, got ${describeValue(type)}`);
  const out: EventData = { type, data: replaceJson(data, json.replacer) };
  if (metadata !== undefined) out.metadata = replaceJson(metadata, json.replacer);
  if (id !== undefined) out.id = id;
  return out;
}

/** A stored event as Emmett reads it. */
export function toReadEvent(e: RecordedEvent, reviver: JsonTransform | undefined): AnnalsReadEvent {
  const stored = reviveJson(e.metadata, reviver);
  const own = typeof stored === 'object' && stored !== null && !(stored instanceof Uint8Array) ? stored : undefined;
  return {
    type: e.type,
    data: reviveJson(e.data, reviver) as Record<string, unknown>,
    metadata: {
      ...own,
      messageId: e.id,
      streamName: e.streamId,
      streamPosition: BigInt(e.version),
      globalPosition: BigInt(e.position),
    },
    kind: 'Event',
  };
}
