/**
 * The category or type entries of a memtable (the read models): the key of a name to the
 * positions of its events, in position order (appends and replays come in log order). A name
 * takes many events (a category holds the events of all its streams), so each key has a list of
 * its own (chunked-lists.ts: typed chunks, no JS array to grow); a KeyTable maps the key to that
 * list. Keys are hashes: every position is a candidate the reader checks against its record.
 */
import { viewSeq } from '../format/index-layout.js';
import type { Key } from '../format/key-hash.js';
import { ChunkedLists } from './chunked-lists.js';
import { KeyTable } from './key-table.js';
import type { SegmentEntries } from './segment-backend.js';
import type { BlockPool } from './stream-id-table.js';

/** What a key's own list costs beyond its entries' share of BYTES_PER_ENTRY.memtables (its first
 * chunk, its columns' slots and the key table's), rounded up: counted against the memtable
 * (Memtable.weight), so a workload of a new type or category per event is held to the memtables'
 * bytes too, in fewer entries. */
export const NEW_KEY_BYTES = 80;

export class PositionLists {
  /** Key to 1 + the number of its list. */
  private readonly table = new KeyTable();
  private readonly lists: ChunkedLists;
  /** Positions held. */
  entries = 0;

  constructor(blocks?: BlockPool) {
    this.lists = new ChunkedLists(blocks);
  }

  /** Gives the column blocks back to their pool (Memtable.release). */
  release(): void {
    this.lists.release();
  }

  /** Adds the key's position; true when the key is new here (its list costs NEW_KEY_BYTES). */
  add(key: Key, position: number): boolean {
    this.entries++;
    const v = this.table.get(key);
    if (v !== 0) {
      this.lists.push(v - 1, position);
      return false;
    }
    const made = this.lists.create() + 1;
    this.table.update(key, () => made);
    this.lists.push(made - 1, position);
    return true;
  }

  /** The number of the key's list (-1: none), for size() and at(). */
  list(key: Key): number {
    return this.table.get(key) - 1;
  }

  /** Positions in list `l`. */
  size(l: number): number {
    return this.lists.size(l);
  }

  /** Position i of list `l`: ascending in i. */
  at(l: number, i: number): number {
    return this.lists.at(l, i);
  }

  /** Writes every entry into `out` (arrays of exactly `entries` entries): key, the position's
   * bucket as seq (viewSeq), position. */
  toEntries(out: SegmentEntries): SegmentEntries {
    let i = 0;
    this.table.forEach((hi, lo, v) => {
      for (let k = 0, n = this.lists.size(v - 1); k < n; k++) {
        const p = this.lists.at(v - 1, k);
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
