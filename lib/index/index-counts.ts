/** Counts and sizes the index reports (stats()): from segment headers and memtables, without
 * reading any entry. */
import { SEGMENT_KIND_COMMAND, SEGMENT_KIND_STREAM } from '../format/index-layout.js';
import type { IndexStats } from '../types.js';
import type { Memtable } from './memtable.js';
import { KINDS, type SegmentCatalog } from './segment-catalog.js';

export interface IndexCounts {
  events: number;
  streams: number;
  commands: number;
}

/** Events, streams and commands in the store (a broken segment's share is missing until it is
 * rebuilt; the store's own `$$` streams count). */
export function indexCounts(catalog: SegmentCatalog, memtables: readonly Memtable[]): IndexCounts {
  const c: IndexCounts = { events: 0, streams: 0, commands: 0 };
  for (const slot of catalog.of(SEGMENT_KIND_STREAM)) {
    const h = catalog.readerOf(slot)?.header;
    c.events += h?.entryCount ?? 0;
    c.streams += h?.starts ?? 0;
  }
  for (const slot of catalog.of(SEGMENT_KIND_COMMAND)) c.commands += catalog.readerOf(slot)?.header.starts ?? 0;
  for (const m of memtables) {
    const mc = m.counts();
    c.events += mc.events;
    c.streams += mc.streams;
    c.commands += mc.commands;
  }
  return c;
}

export function indexStats(
  catalog: SegmentCatalog,
  memtables: readonly Memtable[],
  frozen: number,
  dictionaries: { latestVersionEntries: number; recentCommandEntries: number; segmentBuilds: number; segmentMerges: number },
): IndexStats {
  const all = KINDS.flatMap((k) => catalog.of(k));
  return {
    streamSegments: catalog.of(SEGMENT_KIND_STREAM).length,
    commandSegments: catalog.of(SEGMENT_KIND_COMMAND).length,
    brokenSegments: all.filter((s) => s.broken).length,
    memtableEntries: memtables.reduce((a, m) => a + m.entries, 0),
    frozenMemtables: frozen,
    ...dictionaries,
    segmentHeapBytes: all.reduce((n, s) => n + (s.reader?.heapBytes() ?? 0), 0),
  };
}
