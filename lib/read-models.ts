/**
 * The read side of EventStore that projections stand on: categories and event types read from
 * their index, the global log read and followed through a filter, and the subscriptions behind
 * durable consumers. EventStore validates the store's state and delegates here.
 */

import { SUBSCRIBE_KEYS, SYSTEM_STREAM_PREFIX } from './consumers.js';
import { InvalidArgumentError } from './errors.js';
import { compileFilter, type FrameMatcher } from './event-filter.js';
import { SEGMENT_KIND_CATEGORY, type ViewKind } from './format/index-layout.js';
import type { DirectoryEntry } from './index/directory-backend.js';
import type { StoreIndex } from './index/store-index.js';
import type { ResolvedLimits } from './options.js';
import { isSystem, type StoreReader } from './store-reader.js';
import { type Subscription, subscription, type VisibilitySignal } from './subscription.js';
import type { ListStreamsOptions, ReadAllOptions, ReadViewOptions, RecordedEvent, StreamInfo, SubscribeOptions } from './types.js';

/** Streams a listing page holds by default, and at most. */
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;
export const VIEW_KEYS = new Set(['after', 'limit', 'direction']);
export const READ_ALL_KEYS = new Set(['after', 'limit', 'filter', 'onDamaged']);
export const LIST_KEYS = new Set(['prefix', 'after', 'limit']);

import { checkObject, describeValue, rejectUnknownKeys } from './arg-checks.js';
import { checkStreamId, optionalCount } from './validation.js';

export interface ReadModelDeps {
  reader: StoreReader;
  index: StoreIndex;
  signal: VisibilitySignal;
  limits: ResolvedLimits;
  /** Throws StoreClosedError once the store is closed. */
  checkOpen(): void;
  closed(): boolean;
  visibleEnd(): number;
  /** Whether stream metadata leaves the stream at `lastVersion` anything to read. */
  listed(streamId: string, lastVersion: number): boolean;
}

export class ReadModels {
  constructor(private readonly d: ReadModelDeps) {}

  /** A category's or type's events: bad arguments reject on the first iteration step. */
  readView(kind: ViewKind, name: unknown, options: ReadViewOptions): AsyncIterable<RecordedEvent> {
    const d = this.d;
    return {
      async *[Symbol.asyncIterator]() {
        d.checkOpen();
        const checked = checkViewName(kind, name, d.limits);
        const direction = checkViewOptions(options);
        yield* d.reader.iterateView(kind, checked, options.after, direction === 'backward', options.limit ?? Number.MAX_SAFE_INTEGER);
      },
    };
  }

  /**
   * A page of the store's streams in id order (UTF-8 bytes) from the index (stream-listing.ts).
   * The store's own `$$` streams are listed only when the prefix asks for them; a stream whose
   * events are all still in flight is not listed, and one with some in flight shows its visible
   * version.
   */
  async listStreams(options: ListStreamsOptions): Promise<{ streams: StreamInfo[]; next?: string }> {
    const d = this.d;
    d.checkOpen();
    const { prefix, after, limit } = checkListOptions(options);
    const system = prefix?.startsWith(SYSTEM_STREAM_PREFIX) === true;
    const out: StreamInfo[] = [];
    let cursor = after;
    let more = true;
    // Pages until `limit + 1` listable streams are seen (one more says a next page exists): the
    // store's own streams and streams not yet visible are skipped, so a page may take a few asks.
    while (out.length <= limit && more) {
      const page = await d.index.listStreams({ after: cursor, prefix: prefix || undefined, limit: limit + 1 - out.length });
      more = page.more;
      for (const e of page.entries) {
        const info = system || !e.streamId.startsWith(SYSTEM_STREAM_PREFIX) ? this.visibleInfo(e) : undefined;
        if (info) out.push(info);
      }
      cursor = page.entries[page.entries.length - 1]?.streamId ?? cursor;
      if (page.entries.length === 0) break;
    }
    const streams = out.slice(0, limit);
    return out.length > limit ? { streams, next: (streams[streams.length - 1] as StreamInfo).streamId } : { streams };
  }

  private visibleInfo(e: DirectoryEntry): StreamInfo | undefined {
    // A deleted stream (or one truncated past its end) is not listed.
    if (!this.d.listed(e.streamId, e.lastVersion)) return undefined;
    const info = { streamId: e.streamId, version: e.lastVersion, firstPosition: e.firstPosition, lastPosition: e.lastPosition };
    if (e.lastPosition < this.d.visibleEnd()) return info;
    const version = this.d.reader.visibleVersion(e.streamId);
    if (version === 0 || e.firstPosition >= this.d.visibleEnd()) return undefined;
    const [last] = this.d.reader.streamRange(e.streamId, version, version);
    return last ? { ...info, version, lastPosition: last.position } : undefined;
  }

  /** The global log (EventStore.readAll): bad options reject on the first iteration step. */
  readAll(options: ReadAllOptions): AsyncIterable<RecordedEvent> {
    const d = this.d;
    return {
      async *[Symbol.asyncIterator]() {
        d.checkOpen();
        checkReadAllOptions(options);
        const match = compileFilter(options.filter);
        const from = d.reader.startAfter(options.after);
        yield* d.reader.iterateLog(from, options.limit ?? Number.MAX_SAFE_INTEGER, () => !d.closed(), options.onDamaged, match);
      },
    };
  }

  /** The global log with the events stream metadata hides, without the store's own (raw-log.ts:
   * for `annals copy` only). */
  rawLog(): AsyncIterable<RecordedEvent> {
    const d = this.d;
    return {
      async *[Symbol.asyncIterator]() {
        d.checkOpen();
        yield* d.reader.iterateLog(
          d.reader.startAfter(undefined),
          Number.MAX_SAFE_INTEGER,
          () => !d.closed(),
          undefined,
          undefined,
          isSystem,
        );
      },
    };
  }

  /** A subscription of one stream or of the global log (EventStore.subscribe, not a consumer). */
  subscribe(options: SubscribeOptions): Subscription {
    checkSubscribeOptions(options);
    if (options.streamId === undefined) return this.subscribeLog(options.after, options.fromEnd === true, options.filter);
    if (options.filter !== undefined) throw new InvalidArgumentError('filter is for the global log: not with streamId');
    const id = checkStreamId(options.streamId, this.d.limits);
    const { reader } = this.d;
    // `after` must be an event's position, as for the whole log (startAfter refuses others).
    if (options.after !== undefined) reader.startAfter(options.after);
    const from = options.fromEnd
      ? reader.visibleVersion(id) + 1
      : options.after === undefined
        ? 1
        : reader.firstVersionAfter(id, options.after);
    return this.subscribeStream(id, from);
  }

  /**
   * A subscription of the global log from after `after` (an event's position; undefined: the
   * start) or from its end, through `filter`. Catching up over events the filter drops goes on
   * block after block, yielding to the event loop between them, until an event passes or the
   * visible end is reached.
   */
  subscribeLog(after: number | undefined, fromEnd: boolean, filter: SubscribeOptions['filter']): Subscription {
    const match = compileFilter(filter);
    const { reader } = this.d;
    let cursor = fromEnd ? this.d.visibleEnd() : reader.startAfter(after);
    return subscription(
      this.d.signal,
      async () => {
        for (;;) {
          const { events, next } = reader.logBatch(cursor, match);
          const moved = next > cursor;
          cursor = next;
          if (events.length > 0 || !moved) return events;
          await new Promise((r) => setImmediate(r));
        }
      },
      this.d.closed,
    );
  }

  /** A subscription of one stream's events from version `from`. */
  subscribeStream(streamId: string, from: number): Subscription {
    const { reader } = this.d;
    let next = from;
    return subscription(
      this.d.signal,
      async () => {
        // Events stream metadata hides are stepped over; a batch of only those is not the end.
        for (;;) {
          const batch = reader.streamBatch(streamId, next);
          next += batch.length;
          const visible = batch.filter((e) => reader.visibleByMetadata(e));
          if (visible.length > 0 || batch.length === 0) return visible;
        }
      },
      this.d.closed,
    );
  }
}

/** Checks listStreams options (INVALID_ARGUMENT): the prefix, the id to page after and the limit. */
export function checkListOptions(options: unknown): { prefix?: string; after?: string; limit: number } {
  checkObject('options', options);
  rejectUnknownKeys('listStreams options', options, LIST_KEYS);
  const { prefix, after, limit = DEFAULT_LIST_LIMIT } = options as ListStreamsOptions;
  for (const [k, v] of [
    ['prefix', prefix],
    ['after', after],
  ] as const) {
    if (v !== undefined && typeof v !== 'string') throw new InvalidArgumentError(`${k} must be a string, got ${typeof v}`);
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new InvalidArgumentError(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${typeof limit} ${String(limit)}`);
  }
  return { ...(prefix === undefined ? {} : { prefix }), ...(after === undefined ? {} : { after }), limit };
}

/** Checks readCategory/readByType options (INVALID_ARGUMENT); returns the direction. */
export function checkViewOptions(options: unknown): 'forward' | 'backward' {
  checkObject('options', options);
  rejectUnknownKeys('options', options, VIEW_KEYS);
  const o = options as ReadViewOptions;
  optionalCount('after', o.after);
  optionalCount('limit', o.limit);
  const { direction = 'forward' } = o;
  if (direction !== 'forward' && direction !== 'backward') {
    throw new InvalidArgumentError(`direction must be 'forward' or 'backward', got ${typeof direction} ${String(direction)}`);
  }
  if (o.limit === 0) throw new InvalidArgumentError('limit must be at least 1');
  return direction;
}

/** The matcher of a readAll filter (validated: INVALID_ARGUMENT for anything else). */
export function filterOf(filter: unknown): FrameMatcher | undefined {
  return compileFilter(filter);
}

export function checkViewName(kind: ViewKind, name: unknown, limits: ResolvedLimits): string {
  const what = kind === SEGMENT_KIND_CATEGORY ? 'category' : 'type';
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError(`${what} must be a non-empty string, got ${typeof name} ${JSON.stringify(name)?.slice(0, 40)}`);
  }
  if (kind === SEGMENT_KIND_CATEGORY && name.includes('-')) {
    throw new InvalidArgumentError(`category '${name}' contains '-': a category is a stream id's part before its first '-'`);
  }
  const max = kind === SEGMENT_KIND_CATEGORY ? limits.maxStreamIdBytes : limits.maxEventTypeBytes;
  if (Buffer.byteLength(name) > max) throw new InvalidArgumentError(`${what} is longer than ${max} bytes`);
  return name;
}

/** A subscription's options but a consumer's, checked (INVALID_ARGUMENT), the same for every store
 * (the stream or filter each store checks itself). */
export function checkSubscribeOptions(options: SubscribeOptions): void {
  rejectUnknownKeys('subscribe options', options, SUBSCRIBE_KEYS);
  optionalCount('after', options.after);
  if (options.fromEnd !== undefined && typeof options.fromEnd !== 'boolean') {
    throw new InvalidArgumentError(`fromEnd must be a boolean, got ${describeValue(options.fromEnd)}`);
  }
  if (options.fromEnd && options.after !== undefined) throw new InvalidArgumentError('give either after or fromEnd');
  if (options.from !== undefined) throw new InvalidArgumentError('from is for a consumer: give after or fromEnd');
}

/** readAll's options checked (INVALID_ARGUMENT), the same for every store. */
export function checkReadAllOptions(options: ReadAllOptions): void {
  checkObject('options', options);
  optionalCount('after', options.after);
  optionalCount('limit', options.limit);
  rejectUnknownKeys('readAll options', options, READ_ALL_KEYS);
  if (options.onDamaged !== undefined && typeof options.onDamaged !== 'function') {
    throw new InvalidArgumentError(`onDamaged must be a function, got ${describeValue(options.onDamaged)}`);
  }
}
