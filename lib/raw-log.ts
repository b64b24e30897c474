/**
 * What `annals copy` reads beyond the public API (never exported from the package): every
 * application event of the global log including those stream metadata hides (a soft-deleted or
 * truncated stream's versions must be copied for its later versions to keep their numbers), and
 * the stream metadata to apply once they are copied. Each store implements it over its own log.
 */
import type { StoredMetadata } from './stream-metadata.js';
import type { RecordedEvent } from './types.js';

export const RAW_LOG = Symbol.for('annals.rawLog');
export const RAW_METADATA = Symbol.for('annals.rawMetadata');

export interface RawLogSource {
  /** The global log with hidden events, without the store's own `$$` streams. */
  [RAW_LOG](): AsyncIterable<RecordedEvent>;
}

/** The stream metadata `annals copy` carries over, in the order it applies it. */
export type CopiedMetadata = { streamId: string; metadata: StoredMetadata };

/** A store that can list every stream with metadata (the PostgreSQL store: its stream_meta
 * table); the embedded store names streams in its metadata by hashes, so a copy asks it about each
 * stream it copied. */
export interface RawMetadataSource {
  [RAW_METADATA](): Promise<CopiedMetadata[]>;
}

export function hasRawLog(store: object): store is RawLogSource {
  return typeof (store as Partial<RawLogSource>)[RAW_LOG] === 'function';
}

export function hasRawMetadata(store: object): store is RawMetadataSource {
  return typeof (store as Partial<RawMetadataSource>)[RAW_METADATA] === 'function';
}
