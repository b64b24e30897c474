/**
 * annals: an embedded, native-accelerated event store for Node.js. The whole public surface is
 * exported from here; docs/api.md describes it.
 */

export {
  AnnalsError,
  type AppendResult,
  CorruptionError,
  DiskFullError,
  DuplicateCommandError,
  EngineUnavailableError,
  type ErrorCode,
  type ExpectedVersion,
  InvalidArgumentError,
  LimitExceededError,
  ReadOnlyError,
  StoreClosedError,
  StoreLockedError,
  UnavailableError,
  WrongExpectedVersionError,
} from './errors.js';
export { EventStore } from './event-store.js';
export { nativeLoadError } from './native.js';
export type { Snapshot } from './snapshot-store.js';
export type { AggregateOptions, AnnalsStore, AppendManyItem, BaseStoreStats, SubscribeOptions } from './store-api.js';
export type { Subscription } from './subscription.js';
export type {
  AppendOptions,
  Durability,
  EngineName,
  EventData,
  IndexStats,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  RecoveryInfo,
  StoreLimits,
  StoreOptions,
  StoreStats,
} from './types.js';
export { type VerifyFault, type VerifyOptions, type VerifyReport, verifyStore } from './verify.js';
