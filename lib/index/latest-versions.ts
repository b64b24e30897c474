/**
 * The latest-version dictionary of the ENode design: for each recently written or read stream, its
 * newest version and that event's position, so an append checks its expected version without
 * touching the index files. The ids are the only per-stream JS objects: each maps to a slot
 * (StreamIdTable) of three number columns (version, position, last use), slots recycled as
 * entries are evicted, so the dictionary costs the id string, 40-56 bytes of typed arrays and a
 * pointer per stream, and holds any number of streams (a Map stops at 2^24) without a pause to
 * grow.
 *
 * It holds at most `limit` streams, each id longer than the budget's estimate assumes counting for
 * more (`weight`: memory-budget.ts, extraIdBytes): a new stream that finds it full first drops the
 * least recently used quarter (one pass to pick their last-use cutoff, one to drop them), which moves
 * keptSince as a timed eviction does, so the dropped streams are then looked up in the memtables
 * and segments.
 */
import { BYTES_PER_ENTRY, extraIdBytes } from '../memory-budget.js';
import { indexClock } from './index-clock.js';
import { FILTER_KEYS_PER_ENTRY, justPast, KeyFilter } from './key-filter.js';
import { SlotColumn, StreamIdTable, streamHash } from './stream-id-table.js';

/** The share of a full dictionary a new stream drops: each drop is a pass over every slot, so it
 * should free room for many streams. A workload of new streams (each written once) pays a pass per
 * DROP_SHARE * limit of them, whatever the limit: a quarter makes that a few passes' cost per
 * limit's worth of new streams, while the dictionary still holds at least three quarters of its
 * limit, of the streams used most recently. */
const DROP_SHARE = 0.25;
/** What the budget prices one entry at (an id of ASSUMED_ID_CHARS). */
const ENTRY_BYTES = BYTES_PER_ENTRY.latestVersions;

export class LatestVersions {
  private readonly slots = new StreamIdTable();
  private readonly version = new SlotColumn();
  private readonly position = new SlotColumn();
  private readonly usedAt = new SlotColumn();
  /** With a bound, from the first stream the dictionary drops: every stream set since the
   * dictionary's keptSince at that time is also in this filter, which proves absence over about
   * FILTER_KEYS_PER_ENTRY times as many streams as the dictionary holds (absentSince); keyed by the
   * stream's table hash (streamHash), which the lookup has just computed. */
  private filter: KeyFilter | undefined;
  /** The filter generation each entry was last added to: an entry is added again only once a newer
   * generation started (a key added while g was the newest is covered until g is dropped). */
  private readonly filterGeneration = new SlotColumn();
  /**
   * Every stream written at or after this time (index clock) is still held: it starts at the
   * dictionary's creation and moves to each eviction's cutoff, since an append sets its stream's
   * last use and eviction drops only entries not used since the cutoff.
   */
  keptSince: number;
  /** extraIdBytes of the ids held. */
  private idBytes = 0;

  /** `now`: when the dictionary starts; no stream written before it was ever held. `limit`: the
   * most streams it holds at once. */
  constructor(
    now = indexClock.now(),
    private readonly limit = Number.POSITIVE_INFINITY,
  ) {
    this.keptSince = now;
  }

  /**
   * For a stream `get` does not hold: since when it is known not to have been added. keptSince, or earlier when
   * the filter rules it out of a generation (KeyFilter.absentSince).
   */
  absentSince(streamId: string): number {
    const f = this.filter;
    return f === undefined ? this.keptSince : Math.min(this.keptSince, f.absentSince(0, streamHash(streamId)));
  }

  get(streamId: string): { version: number; position: number } | undefined {
    const s = this.slots.get(streamId);
    return s < 0 ? undefined : { version: this.version.get(s), position: this.position.get(s) };
  }

  /** Records the stream's latest version; an existing entry is updated in place. */
  set(streamId: string, version: number, position: number, now: number): void {
    let s = this.slots.get(streamId);
    if (s < 0) {
      const extra = extraIdBytes(streamId);
      if (this.weight + 1 + extra / ENTRY_BYTES > this.limit) this.makeRoom(1 + extra / ENTRY_BYTES);
      s = this.slots.add(streamId);
      this.idBytes += extra;
      this.filterGeneration.set(s, 0);
    }
    const f = this.filter;
    if (f !== undefined && this.filterGeneration.get(s) !== f.newest) this.filterGeneration.set(s, f.add(0, streamHash(streamId), now));
    this.version.set(s, version);
    this.position.set(s, position);
    this.usedAt.set(s, now);
  }

  get size(): number {
    return this.slots.size;
  }

  /** Entries held, each id's extra bytes counted as that many over an entry's estimate: what the
   * limit bounds. */
  get weight(): number {
    return this.slots.size + this.idBytes / ENTRY_BYTES;
  }

  /** Bytes the ids held take beyond the per-entry estimate (memory-budget.ts, extraIdBytes). */
  get extraBytes(): number {
    return this.idBytes;
  }

  /** Drops the entries not used since `cutoff` (a retention's eviction). */
  evictBefore(cutoff: number): void {
    this.filter?.evictBefore(cutoff);
    this.dropUnusedSince(cutoff);
  }

  /** Bytes of the filter's arrays. */
  get filterBytes(): number {
    return this.filter?.bytes ?? 0;
  }

  /** Drops the entries not used since `cutoff`: one pass over the last-use column. */
  private dropUnusedSince(cutoff: number): void {
    for (let s = 0; s < this.slots.end; s++) {
      if (this.usedAt.get(s) >= cutoff || this.slots.idAt(s) === undefined) continue;
      // Started before the first drop, from the keptSince before it.
      if (this.filter === undefined && Number.isFinite(this.limit)) this.startFilter();
      this.idBytes -= extraIdBytes(this.slots.idAt(s) as string);
      this.slots.remove(s);
    }
    this.keptSince = Math.max(this.keptSince, cutoff);
  }

  /** The filter, holding every stream the dictionary holds: all set since keptSince. */
  private startFilter(): void {
    const f = new KeyFilter(this.keptSince, this.limit * FILTER_KEYS_PER_ENTRY);
    const now = indexClock.now();
    for (let s = 0; s < this.slots.end; s++) {
      const id = this.slots.idAt(s);
      if (id !== undefined) this.filterGeneration.set(s, f.add(0, streamHash(id), now));
    }
    this.filter = f;
  }

  /** Drops the least recently used entries until `room` more weight fits under the limit with a
   * quarter of it to spare (a pass per drop: each frees room for many streams). Entries weigh about
   * alike in a workload, so one drop usually does; the loop ends, since each drop takes one entry
   * at least, when nothing is left. */
  private makeRoom(room: number): void {
    const target = Math.max(0, Math.min(Math.floor(this.limit * (1 - DROP_SHARE)), this.limit - room));
    while (this.slots.size > 0 && this.weight > target) {
      const n = Math.ceil(((this.weight - target) * this.slots.size) / this.weight);
      this.dropLeastRecent(Math.max(1, n));
    }
  }

  /** Drops at least the `n` least recently used entries: all used at or before the n-th oldest last
   * use (entries used at the same time go together). */
  private dropLeastRecent(n: number): void {
    const times = new Float64Array(this.slots.size);
    let k = 0;
    for (let s = 0; s < this.slots.end; s++) if (this.slots.idAt(s) !== undefined) times[k++] = this.usedAt.get(s);
    const last = nthSmallest(times, Math.min(n, k) - 1);
    // The least number above `last`: dropUnusedSince drops what was used before it.
    this.dropUnusedSince(justPast(last));
  }
}

/** The n-th smallest (from 0) of `a`, which it reorders: quickselect, O(length) on average. */
function nthSmallest(a: Float64Array, n: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i++] = a[j] as number;
        a[j--] = t;
      }
    }
    if (n <= j) hi = j;
    else if (n >= i) lo = i;
    else break;
  }
  return a[n] as number;
}
