/**
 * The latest-version dictionary of the ENode design: for each recently written or read stream, its
 * newest version and that event's position, so an append checks its expected version without
 * touching the index files. The ids are the only per-stream JS objects: each maps to a slot of
 * three Float64Array columns (version, position, last use), recycled through a free list, so the
 * dictionary costs the Map entry, the id string and 24 bytes per stream.
 */
import { indexClock } from './index-clock.js';

const MIN_SLOTS = 1024;

export class LatestVersions {
  private readonly slots = new Map<string, number>();
  private version = new Float64Array(MIN_SLOTS);
  private position = new Float64Array(MIN_SLOTS);
  private usedAt = new Float64Array(MIN_SLOTS);
  private readonly free: number[] = [];
  private next = 0;
  /**
   * Every stream written at or after this time (index clock) is still held: it starts at the
   * dictionary's creation and moves to each eviction's cutoff, since an append sets its stream's
   * last use and eviction drops only entries not used since the cutoff.
   */
  keptSince: number;

  /** `now`: when the dictionary starts; no stream written before it was ever held. */
  constructor(now = indexClock.now()) {
    this.keptSince = now;
  }

  get(streamId: string): { version: number; position: number } | undefined {
    const s = this.slots.get(streamId);
    return s === undefined ? undefined : { version: this.version[s] as number, position: this.position[s] as number };
  }

  /** Records the stream's latest version; an existing entry is updated in place (no reordering). */
  set(streamId: string, version: number, position: number, now: number): void {
    let s = this.slots.get(streamId);
    if (s === undefined) {
      s = this.free.pop() ?? this.nextSlot();
      this.slots.set(streamId, s);
    }
    this.version[s] = version;
    this.position[s] = position;
    this.usedAt[s] = now;
  }

  get size(): number {
    return this.slots.size;
  }

  /**
   * Drops the entries not used since `cutoff`. Entries are updated in place, so the oldest inserted
   * come first: one used since is moved to the back (a second chance) and the walk stops at the
   * first entry it already moved.
   */
  evictBefore(cutoff: number): void {
    this.keptSince = Math.max(this.keptSince, cutoff);
    let firstMoved: string | undefined;
    for (const [k, s] of this.slots) {
      if (k === firstMoved) break;
      this.slots.delete(k);
      if ((this.usedAt[s] as number) < cutoff) this.free.push(s);
      else {
        this.slots.set(k, s);
        firstMoved ??= k;
      }
    }
  }

  private nextSlot(): number {
    if (this.next === this.version.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.version = grow(this.version);
      this.position = grow(this.position);
      this.usedAt = grow(this.usedAt);
    }
    return this.next++;
  }
}
