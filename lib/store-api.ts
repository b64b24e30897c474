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
import type { ConsumerInfo, ConsumerSubscription } from './consumers.js';
import type { AppendResult } from './errors.js';
import type { AppendManyItem } from './event-store.js';
import type { Snapshot } from './snapshot-store.js';
import type { StoredMetadata, StreamMetadata } from './stream-metadata.js';
import type { Subscription } from './subscription.js';
import type {
  AppendOptions,
  EventData,
  ExpectedVersion,
  ListStreamsOptions,
  ReadAllOptions,
  ReadStreamOptions,
  ReadViewOptions,
  RecordedEvent,
  StreamInfo,
  SubscribeOptions,
} from './types.js';

export type { AggregateOptions } from './aggregates.js';
export type { AppendManyItem } from './event-store.js';

/** `subscribe`'s options without a filter or a consumer (every store takes all of SubscribeOptions). */
export type BasicSubscribeOptions = Pick<SubscribeOptions, 'streamId' | 'after' | 'fromEnd'>;

/** `readAll`'s options without a filter (every store takes all of ReadAllOptions). */
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
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  subscribe(options: SubscribeOptions & { consumer: string }): ConsumerSubscription;
  subscribe(options?: SubscribeOptions): Subscription;
  resetConsumer(consumer: string, position: number): Promise<void>;
  listConsumers(): Promise<ConsumerInfo[]>;
  listStreams(options?: ListStreamsOptions): Promise<{ streams: StreamInfo[]; next?: string }>;
  readCategory(category: string, options?: ReadViewOptions): AsyncIterable<RecordedEvent>;
  readByType(type: string, options?: ReadViewOptions): AsyncIterable<RecordedEvent>;
  deleteStream(streamId: string, options?: { expectedVersion?: ExpectedVersion; hard?: boolean }): Promise<{ position: number }>;
  setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<{ position: number }>;
  getStreamMetadata(streamId: string): Promise<StoredMetadata>;
  recentStreams(limit?: number): Promise<{ streamId: string; version: number }[]>;
  saveSnapshot(streamId: string, version: number, state: unknown): Promise<void>;
  loadSnapshot(streamId: string): Promise<Snapshot | undefined>;
  aggregate<S>(streamId: string, options: AggregateOptions<S>): Promise<{ state: S; version: number }>;
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): Promise<BaseStoreStats>;
}
