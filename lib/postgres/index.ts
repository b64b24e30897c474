/**
 * annals on PostgreSQL: `import { PostgresEventStore } from 'annals/postgres'`. Needs the `pg`
 * package (an optional peer dependency of annals); the main `annals` import never loads it.
 * docs/postgres.md describes it.
 */

export type { ConsumerInfo, ConsumerSubscription } from '../consumers.js';
export * from '../errors.js';
export type { EventFilter } from '../event-filter.js';
export type { Snapshot } from '../snapshot-store.js';
export type {
  AggregateOptions,
  AnnalsStore,
  AppendManyItem,
  BaseStoreStats,
  BasicReadAllOptions,
  BasicSubscribeOptions,
} from '../store-api.js';
export type { StoredMetadata, StreamMetadata } from '../stream-metadata.js';
export type { Subscription } from '../subscription.js';
export type {
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
} from '../types.js';
export type { PostgresLimits, PostgresStoreOptions } from './options.js';
export { PostgresEventStore, type PostgresStoreStats } from './pg-store.js';
