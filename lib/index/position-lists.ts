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

/** What a key's own list costs beyond its entries' share of BYTES_PER_ENTRY.memtables (the
 * array, its first element's room, its slots in `lists` and the key table), from a heap measure of
 * a key per entry, rounded up: counted against the memtable (Memtable.weight), so a workload of a
 * new type or category per event is held to the memtables' bytes too, in fewer entries. */
export const NEW_KEY_BYTES = 80;

export class PositionLists {
  /** Key to 1 + the index of its list. */
  private readonly table = new KeyTable();
  private readonly lists: number[][] = [];
  /** Positions held. */
  entries = 0;

  /** Adds the key's position; true when the key is new here (its list costs NEW_KEY_BYTES). */
  add(key: Key, position: number): boolean {
    this.entries++;
    const v = this.table.get(key);
    if (v !== 0) {
      (this.lists[v - 1] as number[]).push(position);
      return false;
    }
    // A literal of one: V8 gives `[]` room for 16 on its first push, which a store of many names
    // (a type or category per event) would pay for every key.
    const index = this.lists.push([position]);
    this.table.update(key, () => index);
    return true;
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
