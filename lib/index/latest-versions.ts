/**
 * The latest-version dictionary of the ENode design: for each recently written or read stream, its
 * newest version and that event's position, so an append checks its expected version without
 * touching the index files. The ids are the only per-stream JS objects: each maps to a slot
 * (StreamIdTable) of three number columns (version, position, last use), slots recycled as
 * entries are evicted, so the dictionary costs the id string, 40-56 bytes of typed arrays and a
 * pointer per stream, and holds any number of streams (a Map stops at 2^24) without a pause to
 * grow.
 */
import { indexClock } from './index-clock.js';
import { SlotColumn, StreamIdTable } from './stream-id-table.js';

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

  /** `now`: when the dictionary starts; no stream written before it was ever held. */
  constructor(now = indexClock.now()) {
    this.keptSince = now;
  }

  get(streamId: string): { version: number; position: number } | undefined {
    const s = this.slots.get(streamId);
    return s < 0 ? undefined : { version: this.version.get(s), position: this.position.get(s) };
  }

  /** Records the stream's latest version; an existing entry is updated in place. */
  set(streamId: string, version: number, position: number, now: number): void {
    let s = this.slots.get(streamId);
    if (s < 0) s = this.slots.add(streamId);
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
}
