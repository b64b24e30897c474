/**
 * The category or type entries of a memtable (the read models): the key of a name to the
 * positions of its events, in position order (appends and replays come in log order). A name
 * takes many events (a category holds the events of all its streams), so each key has a list of
 * its own; a KeyTable maps the key to that list. Keys are hashes: every position is a candidate
 * the reader checks against its record.
 */
import { viewSeq } from '../format/index-layout.js';
import type { Key } from '../format/key-hash.js';
import { KeyTable } from './key-table.js';
import type { SegmentEntries } from './segment-backend.js';

export class PositionLists {
  /** Key to 1 + the index of its list. */
  private readonly table = new KeyTable();
  private readonly lists: number[][] = [];
  /** Positions held. */
  entries = 0;

  add(key: Key, position: number): void {
    let v = this.table.get(key);
    if (v === 0) {
      v = this.lists.push([]);
      const index = v;
      this.table.update(key, () => index);
    }
    (this.lists[v - 1] as number[]).push(position);
    this.entries++;
  }

  /** The key's positions, ascending (the list itself: do not change it). */
  get(key: Key): readonly number[] | undefined {
    const v = this.table.get(key);
    return v === 0 ? undefined : this.lists[v - 1];
  }

  /** Writes every entry into `out` (arrays of exactly `entries` entries): key, the position's
   * bucket as seq (viewSeq), position. */
  toEntries(out: SegmentEntries): SegmentEntries {
    let i = 0;
    this.table.forEach((hi, lo, v) => {
      for (const p of this.lists[v - 1] as number[]) {
        out.hi[i] = hi;
        out.lo[i] = lo;
        out.seq[i] = viewSeq(p);
        out.position[i] = p;
        i++;
      }
    });
    if (i !== out.hi.length) throw new Error(`position lists yielded ${i} entries of ${out.hi.length}`);
    return out;
  }
}
