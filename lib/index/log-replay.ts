/**
 * The replay of the log into the index's memtables: what no segment covers yet, at open, and what
 * a follower indexes of the writer's log as it grows (store-index.ts).
 *
 * Invariants: each kind's entries go in only past that kind's segment coverage (a kind whose
 * segments reach further already holds them); a memtable is frozen only between appends, so the
 * events of one command stay in one memtable; a damaged record ends its memtable, whose stream runs
 * cannot hold the hole it leaves in a stream's versions.
 */
import type { LogEngine } from '../engine/log-engine.js';
import { SEGMENT_KIND_CATEGORY, SEGMENT_KIND_COMMAND, SEGMENT_KIND_STREAM, SEGMENT_KIND_TYPE } from '../format/index-layout.js';
import { keyOf } from '../format/key-hash.js';
import type { DamageHandler } from '../log-reader.js';
import { indexedItems } from './indexed-records.js';
import type { Memtable } from './memtable.js';
import type { SegmentCatalog } from './segment-catalog.js';
import { addViews, type NameKeys } from './view-names.js';

export interface ReplaySource {
  engine: LogEngine;
  catalog: SegmentCatalog;
  logEnd: () => number;
  onDamaged: DamageHandler;
  memtableEntries: number;
  writable: boolean;
}

/** The index a replay fills: its active memtable changes at each freeze. */
export interface ReplayTarget {
  active(): Memtable;
  freeze(): void;
  readonly names: NameKeys;
}

/** Told of each record replayed (a follower's catch-up, which keeps the dictionaries current). */
export type OnReplayed = (streamId: string, version: number, position: number) => void;

/** Indexes the log from `start` to its end, or to the first append's end past `maxBytes`. Returns
 * where the indexed log ends. */
export function replayLog(
  o: ReplaySource,
  t: ReplayTarget,
  start: number,
  onRecord?: OnReplayed,
  maxBytes = Number.POSITIVE_INFINITY,
): number {
  const { catalog } = o;
  const streamsFrom = catalog.coverage(SEGMENT_KIND_STREAM);
  const commandsFrom = catalog.coverage(SEGMENT_KIND_COMMAND);
  const categoriesFrom = catalog.coverage(SEGMENT_KIND_CATEGORY);
  const typesFrom = catalog.coverage(SEGMENT_KIND_TYPE);
  const onDamaged: DamageHandler = (position, err) => {
    o.onDamaged(position, err);
    const active = t.active();
    active.toPosition = position;
    if (active.entries > 0) t.freeze();
  };
  for (const r of indexedItems(o.engine, start, o.logEnd, onDamaged)) {
    const active = t.active();
    if ('erasedKey' in r) {
      if (r.position >= commandsFrom) active.addCommand(r.erasedKey, [r.position]);
      continue;
    }
    const { position, fields: f, end, commit } = r;
    if (position >= streamsFrom) active.addStream(f.streamId, f.version, [position]);
    if (f.commandId !== undefined && position >= commandsFrom) active.addCommand(keyOf(f.commandId), [position]);
    addViews(active, t.names, f.streamId, [f.type], [position], categoriesFrom, typesFrom);
    active.toPosition = end;
    onRecord?.(f.streamId, f.version, position);
    // Only between appends: a command lookup stops at the newest source holding its key, so a
    // command split over two memtables would read back only its newer part.
    if (commit && active.weight >= o.memtableEntries && o.writable) t.freeze();
    if (commit && end - start >= maxBytes) return end;
  }
  const active = t.active();
  active.toPosition = Math.max(active.toPosition, o.logEnd());
  return active.toPosition;
}
