/**
 * The latest-version dictionary of the ENode design: for each recently written or read stream, its
 * newest version and that event's position, so an append checks its expected version without
 * touching the index files. The ids are the only per-stream JS objects: each maps to a slot
 * (StreamIdTable) of three number columns (version, position, last use), slots recycled as
 * entries are evicted, so the dictionary costs the id string, 40-56 bytes of typed arrays and a
 * pointer per stream, and holds any number of streams (a Map stops at 2^24) without a pause to
 * grow.
 *
 * It holds at most `limit` streams: a new stream that finds it full first drops the least recently
 * used tenth (one pass to pick their last-use cutoff, one to drop them), which moves keptSince as a
 * timed eviction does, so the dropped streams are then looked up in the memtables and segments.
 */
import { indexClock } from './index-clock.js';
import { SlotColumn, StreamIdTable } from './stream-id-table.js';

/** The share of a full dictionary a new stream drops: each drop is a pass over every slot, so it
 * should free room for many streams. */
const DROP_SHARE = 0.1;

export class LatestVersions {
  private readonly slots = new StreamIdTable();
  private readonly version = new SlotColumn();
  private readonly position = new SlotColumn();
  private readonly usedAt = new SlotColumn();
  /**
   * Every stream written at or after this time (index clock) is still held: it starts at the
   * dictionary's creation and moves to each eviction's cutoff, since an append sets its stream's
   * last use and eviction drops only entries not used since the cutoff.
   */
  keptSince: number;

  /** `now`: when the dictionary starts; no stream written before it was ever held. `limit`: the
   * most streams it holds at once. */
  constructor(
    now = indexClock.now(),
    private readonly limit = Number.POSITIVE_INFINITY,
  ) {
    this.keptSince = now;
  }

  get(streamId: string): { version: number; position: number } | undefined {
    const s = this.slots.get(streamId);
    return s < 0 ? undefined : { version: this.version.get(s), position: this.position.get(s) };
  }

  /** Records the stream's latest version; an existing entry is updated in place. */
  set(streamId: string, version: number, position: number, now: number): void {
    let s = this.slots.get(streamId);
    if (s < 0) {
      if (this.slots.size >= this.limit) this.dropLeastRecent(this.slots.size - Math.floor(this.limit * (1 - DROP_SHARE)));
      s = this.slots.add(streamId);
    }
    this.version.set(s, version);
    this.position.set(s, position);
    this.usedAt.set(s, now);
  }

  get size(): number {
    return this.slots.size;
  }

  /** Drops the entries not used since `cutoff`: one pass over the last-use column. */
  evictBefore(cutoff: number): void {
    this.keptSince = Math.max(this.keptSince, cutoff);
    for (let s = 0; s < this.slots.end; s++) {
      if (this.usedAt.get(s) < cutoff && this.slots.idAt(s) !== undefined) this.slots.remove(s);
    }
  }

  /** Drops at least the `n` least recently used entries: all used at or before the n-th oldest last
   * use (entries used at the same time go together). */
  private dropLeastRecent(n: number): void {
    const times = new Float64Array(this.slots.size);
    let k = 0;
    for (let s = 0; s < this.slots.end; s++) if (this.slots.idAt(s) !== undefined) times[k++] = this.usedAt.get(s);
    const last = nthSmallest(times, Math.min(n, k) - 1);
    // The least number above `last`: evictBefore drops what was used before it.
    this.evictBefore(last + Math.max(Math.abs(last) * Number.EPSILON, Number.MIN_VALUE));
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
