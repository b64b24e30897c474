/** What `stats()` reports of a store: counts from the index, bytes on disk, the writer's state and
 * what recovery found. */
import type { DamagedRecords } from './damaged-records.js';
import type { LogEngine, OpenReport } from './engine/log-engine.js';
import type { StoreIndex } from './index/store-index.js';
import type { LogWriter } from './log-writer.js';
import { memoryStats } from './memory-budget.js';
import type { ResolvedOptions } from './options.js';
import { diskUsage, filesOnDisk } from './store-dir.js';
import type { StoreStats } from './types.js';

export interface StatsSources {
  directory: string;
  engine: LogEngine;
  index: StoreIndex;
  writer: LogWriter;
  options: ResolvedOptions;
  recovery: OpenReport;
  damaged: DamagedRecords;
  /** Stream metadata entries cached now (stream-metadata.ts). */
  metadata: { cachedCount: number; cachedExtraBytes: number };
}

export function storeStats(s: StatsSources): Omit<StoreStats, 'reclaimableBytes'> {
  const counts = s.index.counts();
  const index = s.index.stats();
  return {
    engine: s.engine.name,
    eventCount: counts.events,
    streamCount: counts.streams,
    commandCount: counts.commands,
    chunkCount: s.engine.chunkCount(),
    bytesOnDisk: diskUsage(s.directory),
    endPosition: s.writer.endPosition,
    durability: s.options.durability,
    flushes: s.writer.flushes,
    writes: s.writer.writes,
    flushTimeMs: s.writer.flushTimeMs,
    // The chunk files only: the directory holds the writer's checkpoint file too.
    chunks: filesOnDisk(s.directory, 'chunks').filter((f) => f.file.endsWith('.chunk')),
    recovery: {
      torn: s.recovery.torn,
      tornPosition: s.recovery.tornPosition,
      discardedBytes: s.recovery.discardedBytes,
      tornReason: s.recovery.tornReason,
      ...s.damaged.list(),
    },
    index,
    memory: memoryStats(
      s.options.memoryBudget,
      {
        latestVersions: index.latestVersionEntries,
        recentCommands: index.recentCommandEntries,
        memtables: index.memtableEntries,
        metadataCache: s.metadata.cachedCount,
        readCaches: s.options.readCache.bytes,
      },
      { ...s.index.extraIdBytes(), metadataCache: s.metadata.cachedExtraBytes },
    ),
  };
}
