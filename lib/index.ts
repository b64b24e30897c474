/**
 * annals: an embedded, native-accelerated event store for Node.js. The whole public surface is
 * exported from here; docs/api.md describes it.
 */

export type { AggregateOptions } from './aggregates.js';
export type { BackupOptions, BackupResult } from './backup.js';
export type { ConsumerInfo, ConsumerSubscription } from './consumers.js';
export {
  AnnalsError,
  type AppendedEvent,
  type AppendResult,
  ConsumerBusyError,
  CorruptionError,
  DiskFullError,
  DuplicateCommandError,
  EngineUnavailableError,
  type ErrorCode,
  type ExpectedVersion,
  InvalidArgumentError,
  LimitExceededError,
  NotAStoreError,
  PermissionDeniedError,
  ReadOnlyError,
  StoreClosedError,
  StoreLockedError,
  StreamDeletedError,
  UnavailableError,
  WrongExpectedVersionError,
} from './errors.js';
export type { EventFilter } from './event-filter.js';
export { type AppendManyItem, EventStore } from './event-store.js';
export { nativeLoadError } from './native.js';
export type { ScavengeOptions, ScavengeProgress, ScavengeReport } from './scavenge.js';
export type { Snapshot } from './snapshot-store.js';
export type { AnnalsStore, BaseStoreStats, BasicReadAllOptions, BasicSubscribeOptions } from './store-api.js';
export type { StoredMetadata, StreamMetadata } from './stream-metadata.js';
export type { Subscription } from './subscription.js';
export type {
  AppendOptions,
  ChunkUsage,
  Durability,
  EngineName,
  EventData,
  IndexStats,
  ListStreamsOptions,
  MemoryPartStats,
  MemoryStats,
  ReadAllOptions,
  ReadStreamOptions,
  ReadViewOptions,
  RecordedEvent,
  RecoveryInfo,
  StoreLimits,
  StoreOptions,
  StoreStats,
  StreamInfo,
  SubscribeOptions,
} from './types.js';
export { type VerifyFault, type VerifyOptions, type VerifyReport, verifyStore } from './verify.js';
