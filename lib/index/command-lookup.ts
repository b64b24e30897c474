/**
 * Where a command's events may be: candidate positions from the memtables and the command
 * segments, oldest first. A command's events are written, and so indexed, together: the newest
 * source (memtable or segment) holding its key has them all, unless that key is another id's too;
 * a caller whose candidates all turned out to be another id's asks again with `everySource`.
 * Candidates, like every hash hit: the caller checks the records.
 */
import type { Key } from '../format/key-hash.js';
import type { Memtable } from './memtable.js';
import type { SegmentSlot } from './segment-catalog.js';

export interface CommandSources {
  /** The frozen memtables, oldest first, and the active one. */
  frozen: readonly Memtable[];
  active: Memtable;
  /** Since when the recent-command set holds every key indexed (RecentKeys.keptSince). */
  keptSince: number;
  /** The command segments, oldest first. */
  slots: readonly SegmentSlot[];
}

export interface CommandQuery {
  commandId: string;
  key: Key;
  /** Whether to search the segments too; 'recent' searches them only for a command seen within
   * the retention period (it is known to exist, and its events may already be in a segment). */
  disk: boolean | 'recent';
  /** The recent-command set holds the key. */
  recent: boolean;
  everySource: boolean;
}

/** `range(slot)`: the segment's [seq, position] pairs of the key. */
export function commandCandidates(
  src: CommandSources,
  q: CommandQuery,
  range: (slot: SegmentSlot) => ArrayLike<number>,
): number[] | undefined {
  // Made on the first hit: most calls (new command ids) find none.
  let out: number[] | undefined;
  // A command missing from the recent set is in no memtable or segment indexed since the set's
  // keptSince, as in StoreIndex.latest(). (Judged from the set's own eviction, not from the clock
  // against the retention: eviction drops whole one-second buckets, so keys up to a second younger
  // than its cutoff go too; and a lookup then reads no clock.)
  for (let i = src.frozen.length; i >= 0; i--) {
    const m = i === src.frozen.length ? src.active : (src.frozen[i] as Memtable);
    if (!q.recent && m.createdAt >= src.keptSince) continue;
    const inMemory = m.command(q.key);
    if (inMemory === undefined) continue;
    if (!q.everySource) return inMemory;
    out ??= [];
    for (const p of inMemory) out.push(p);
  }
  if (q.disk === true || (q.disk === 'recent' && q.recent)) {
    for (let i = src.slots.length - 1; i >= 0; i--) {
      if (!q.recent && (src.slots[i] as SegmentSlot).since >= src.keptSince) continue;
      const hits = range(src.slots[i] as SegmentSlot);
      if (hits.length === 0) continue;
      out ??= [];
      for (let k = 1; k < hits.length; k += 2) out.push(hits[k] as number);
      if (!q.everySource) break;
    }
  }
  return out === undefined ? undefined : out.sort((a, b) => a - b);
}
