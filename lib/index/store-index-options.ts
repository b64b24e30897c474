/** What a StoreIndex (store-index.ts) is built over, and what an append gives it to index. */
import type { LogEngine } from '../engine/log-engine.js';
import type { DamageHandler } from '../log-reader.js';
import type { SegmentCatalog } from './segment-catalog.js';
import type { StreamDirectory } from './stream-directory.js';

export interface StoreIndexOptions {
  engine: LogEngine;
  catalog: SegmentCatalog;
  writable: boolean;
  memtableEntries: number;
  maxSegments: number;
  /** Whether segments of about one size are merged TIER_FANOUT at a time too (index-jobs.ts). */
  tieredMerges?: boolean;
  retentionMs: number;
  /** The most streams the latest-version dictionary holds (LatestVersions). */
  maxRecentStreams: number;
  /** The most command keys the recent-command set holds (RecentKeys). */
  maxRecentCommands: number;
  logEnd: () => number;
  /** Makes everything written so far durable (before a memtable becomes a segment). */
  flushLog: () => Promise<void>;
  /** Told of each damaged record the index's own scans skip (the replay at open, rebuilds). */
  onDamaged: DamageHandler;
  /** The stream directory files (listings in id order). */
  directory: StreamDirectory;
  warn: (message: string) => void;
}

export interface IndexedAppend {
  streamId: string;
  firstVersion: number;
  positions: number[];
  /** The type of the event at each position. */
  types: readonly string[];
  commandId?: string;
}
