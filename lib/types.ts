/** Public data types of annals. See docs/api.md for the whole surface. */
import type { AnnalsError, ExpectedVersion } from './errors.js';

export type { AppendedEvent, AppendResult, ExpectedVersion } from './errors.js';

/** An event to append. `data` and `metadata`: a Uint8Array is stored as bytes and read back as
 * bytes; anything else is stored as JSON and read back parsed. `id` defaults to a UUID derived from the event's time, the store and its position. */
export interface EventData {
  type: string;
  data?: unknown;
  metadata?: unknown;
  id?: string;
}

/** An event as stored. */
export interface RecordedEvent {
  streamId: string;
  /** 1, 2, 3, … within the stream. */
  version: number;
  type: string;
  data: unknown;
  metadata: unknown;
  id: string;
  commandId?: string;
  /** Milliseconds since the epoch, taken when the append was accepted. */
  timestamp: number;
  /** Global log position: strictly increasing in append order, stable forever. */
  position: number;
}

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
  commandId?: string;
}

export type Durability = 'sync' | 'interval' | 'none';
export type EngineName = 'native' | 'js';

export interface StoreLimits {
  maxStreamIdBytes?: number;
  maxEventTypeBytes?: number;
  maxEventBytes?: number;
  maxEventsPerAppend?: number;
  maxDiskBytes?: number;
  maxPendingBytes?: number;
}

export interface StoreOptions {
  engine?: EngineName;
  chunkSize?: number;
  durability?: Durability;
  flushIntervalMs?: number;
  /** Microseconds the event loop keeps turning after a flush starts, to see its completion at
   * once instead of sleeping until woken (both engines) [1000; 0: never]. */
  flushPollMicros?: number;
  commandLookup?: 'memory' | 'disk';
  retentionMs?: number;
  /** Bytes the store holds in memory at most: its dictionaries, memtables and caches, split among
   * them by the rule of docs/api.md ("Memory budget"); stats().memory shows the split. An integer
   * from 4 MiB to 1 TiB [24 MiB]. */
  memoryBudget?: number;
  /** Streams the in-memory latest-version dictionary holds at most; a new stream that finds it full
   * drops the least recently used tenth [from memoryBudget; at most 1 000 000]. */
  maxRecentStreams?: number;
  /** Command ids the in-memory recent-command dictionary holds at most; past it the oldest go
   * first [from memoryBudget; at most 1 400 000]. */
  maxRecentCommands?: number;
  limits?: StoreLimits;
  readOnly?: boolean;
  /** A read-only store follows the writer of its directory: every this many ms it reads what the
   * writer made durable since, and its reads and subscriptions see it [50; 0: the store stays as
   * it was at open]. */
  followIntervalMs?: number;
  /** Index entries held in memory before they are built into a segment file [from memoryBudget;
   * at most 1 000 000]. */
  indexMemtableEntries?: number;
  /** Segments of each kind (stream, command) kept before the oldest are merged [16]. Not given,
   * segments of about one size are also merged four at a time (tiers); given, only this limit
   * merges. */
  maxIndexSegments?: number;
}

export interface ReadStreamOptions {
  fromVersion?: number;
  direction?: 'forward' | 'backward';
  limit?: number;
}

/** Options of listStreams. */
export interface ListStreamsOptions {
  /** Only streams whose id starts with this. */
  prefix?: string;
  /** The page after this id (a page's `next`). */
  after?: string;
  /** Streams per page, 1 to 1000 [100]. */
  limit?: number;
}

/** A stream as listStreams gives it. */
export interface StreamInfo {
  streamId: string;
  /** Its latest version. */
  version: number;
  /** The position of its first event and of its last. */
  firstPosition: number;
  lastPosition: number;
}

/** Options of readCategory and readByType. */
export interface ReadViewOptions {
  /** A position: forward, the events after it; backward, the events before it (the `position`
   * of the last event of a page continues with the next page). Omitted: from the start, or
   * backward from the end. */
  after?: number;
  limit?: number;
  direction?: 'forward' | 'backward';
}

export type { EventFilter } from './event-filter.js';

/** Options of subscribe. */
export interface SubscribeOptions {
  /** One stream's events (not with `filter` or `consumer`). */
  streamId?: string;
  /** Catch up from after this position (omitted: the beginning). */
  after?: number;
  /** Only what is appended from now on. */
  fromEnd?: boolean;
  /** Only the global log's events that pass the filter (see readAll). */
  filter?: import('./event-filter.js').EventFilter;
  /**
   * A durable consumer's name: its checkpoint is kept in the store and the subscription resumes
   * after it (at-least-once); a second live subscription of the same name is refused with
   * CONSUMER_BUSY. `from` says where a consumer without a checkpoint starts.
   */
  consumer?: string;
  from?: 'start' | 'end' | number;
}

export interface ReadAllOptions {
  after?: number;
  limit?: number;
  /** Only events that pass the filter; the others are skipped without decoding their payloads. */
  filter?: import('./event-filter.js').EventFilter;
  /**
   * Salvage: a damaged record (CorruptionError) is skipped and reported here instead of ending the
   * iteration; the events after it follow. For getting everything intact out of a damaged store.
   */
  onDamaged?: (position: number, error: AnnalsError) => void;
}

export interface RecoveryInfo {
  /** A torn tail was found at open and cut after the last valid append. */
  torn: boolean;
  tornPosition: number;
  discardedBytes: number;
  tornReason: string;
  /** Positions of damaged records found since the store opened (kept by recovery because valid
   * records follow them, or skipped by the index's scans); each read of one fails with
   * CORRUPTION. At most 1000 are listed; `damagedUnlisted` counts the rest. */
  damaged: number[];
  damagedUnlisted: number;
}

export interface StoreStats {
  engine: EngineName;
  eventCount: number;
  streamCount: number;
  commandCount: number;
  chunkCount: number;
  bytesOnDisk: number;
  endPosition: number;
  durability: Durability;
  flushes: number;
  /** Calls that wrote appends to the log: appends made while a flush runs are written together. */
  writes: number;
  /** Milliseconds the flushes since open took in all (Δ flushTimeMs / Δ flushes: mean latency). */
  flushTimeMs: number;
  /** Each chunk file of the log and the bytes it takes on disk (allocated blocks: a chunk is sparse). */
  chunks: ChunkUsage[];
  recovery: RecoveryInfo;
  index: IndexStats;
  memory: MemoryStats;
  /** Estimated bytes of sealed chunks' records no read returns any more: what scavenge() would
   * reclaim now (0 for a store without stream rules). */
  reclaimableBytes: number;
}

/** One part of the memory budget: its entries now, the most it holds, and bytes estimated from
 * per-entry figures (lib/memory-budget.ts). */
export interface MemoryPartStats {
  entries: number;
  /** The most entries it holds (memtables: per memtable). */
  limit: number;
  /** Estimated bytes held now. */
  bytes: number;
  /** Bytes of the budget it may take, and that as a share of the budget (0 to 1). */
  budgetBytes: number;
  share: number;
}

/** How the memory budget is split and used (StoreOptions.memoryBudget). */
export interface MemoryStats {
  budget: number;
  /** Estimated bytes held now, every part together. */
  bytes: number;
  parts: {
    latestVersions: MemoryPartStats;
    recentCommands: MemoryPartStats;
    memtables: MemoryPartStats;
    metadataCache: MemoryPartStats;
    /** The JS engine's index pages and Bloom filters kept once read (entries are bytes); nothing
     * in the native engine, which reads them from the files' mappings. */
    readCaches: MemoryPartStats;
  };
}

export interface ChunkUsage {
  /** The file's name in the store's `chunks/` directory. */
  file: string;
  bytesOnDisk: number;
}

export interface IndexStats {
  streamSegments: number;
  commandSegments: number;
  /** Segments missing or damaged, answered from the log while they are rebuilt. */
  brokenSegments: number;
  memtableEntries: number;
  frozenMemtables: number;
  /** Entries of the latest-version dictionary (streams written within retentionMs). */
  latestVersionEntries: number;
  /** Entries of the recent-command dictionary (commands seen within retentionMs). */
  recentCommandEntries: number;
  /** Segments built from memtables since open (one per kind and memtable). */
  segmentBuilds: number;
  /** Segment merges since open. */
  segmentMerges: number;
  /** Bytes of index segments kept in memory: the JS engine's Bloom filters and internal pages,
   * within memoryBudget's readCaches part; 0 in the native engine, which reads them from the
   * files' mappings. */
  segmentHeapBytes: number;
}
