/**
 * annals: an embedded, native-accelerated event store for Node.js. The whole public surface is
 * exported from here; docs/api.md describes it.
 */

export type { AggregateOptions } from './aggregate.js';
export type { BackupOptions, BackupResult } from './backup.js';
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
  NotAStoreError,
  PermissionDeniedError,
  ReadOnlyError,
  StoreClosedError,
  StoreLockedError,
  WrongExpectedVersionError,
} from './errors.js';
export { type AppendManyItem, EventStore } from './event-store.js';
export { nativeLoadError } from './native.js';
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
