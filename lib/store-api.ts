/**
 * The surface every annals store offers, embedded (`EventStore`, native or JS engine) or on
 * PostgreSQL (`PostgresEventStore` from `annals/postgres`): the same methods, results and error
 * classes. Code written against `AnnalsStore` runs on either; the conformance suite
 * (`annals/conformance`) checks a store against it.
 *
 * Positions are store-specific: the embedded store's are byte offsets in its log, the PostgreSQL
 * store's its own global sequence. Both strictly increase in global order; neither carries over
 * when events are copied to another store (order does).
 */

import type { AggregateOptions } from './aggregates.js';
import type { AppendResult } from './errors.js';
import type { AppendManyItem } from './event-store.js';
import type { Snapshot } from './snapshot-store.js';
import type { Subscription } from './subscription.js';
import type { AppendOptions, EventData, ReadAllOptions, ReadStreamOptions, RecordedEvent, SubscribeOptions } from './types.js';

export type { AggregateOptions } from './aggregates.js';
export type { AppendManyItem } from './event-store.js';

/** What every store's `subscribe` takes (the embedded store also takes `filter` and `consumer`). */
export type BasicSubscribeOptions = Pick<SubscribeOptions, 'streamId' | 'after' | 'fromEnd'>;

/** What every store's `readAll` takes (the embedded store also takes `filter`). */
export type BasicReadAllOptions = Omit<ReadAllOptions, 'filter'>;

/** What every store's `stats()` holds; each store adds its own fields. */
export interface BaseStoreStats {
  engine: string;
  eventCount: number;
  streamCount: number;
  commandCount: number;
  bytesOnDisk: number;
  endPosition: number;
}

export interface AnnalsStore {
  append(streamId: string, events: EventData[], options?: AppendOptions): Promise<AppendResult>;
  appendMany(items: AppendManyItem[], options?: { commandId?: string; atomic?: boolean }): Promise<(AppendResult | Error)[]>;
  streamVersion(streamId: string): Promise<number>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readEvent(streamId: string, version: number): Promise<RecordedEvent | undefined>;
  readCommand(commandId: string): Promise<RecordedEvent[] | undefined>;
  readAll(options?: BasicReadAllOptions): AsyncIterable<RecordedEvent>;
  subscribe(options?: BasicSubscribeOptions): Subscription;
  recentStreams(limit?: number): Promise<{ streamId: string; version: number }[]>;
  saveSnapshot(streamId: string, version: number, state: unknown): Promise<void>;
  loadSnapshot(streamId: string): Promise<Snapshot | undefined>;
  aggregate<S>(streamId: string, options: AggregateOptions<S>): Promise<{ state: S; version: number }>;
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): Promise<BaseStoreStats>;
}
