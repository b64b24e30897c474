/**
 * Many append-only lists of numbers (a memtable's positions: per stream past its first, per
 * category, per type) in chunks of CHUNK values carved from one column of typed blocks.
 *
 * Why: a JS array per list lived as long as its memtable, so it outlived the young generation's
 * collections, and each doubling of a growing one left its old copy behind: garbage of the old
 * generation, which V8 keeps until a major collection (tens of MB over a memtable's life in the
 * e2e bench). Here nothing is copied as lists grow, and a list's values are in typed memory.
 *
 * Layout: list l's values 0..CHUNK-1 are in chunk first[l], values from CHUNK on in the chunks
 * `more[l]` names in order (only lists longer than one chunk have that JS array, CHUNK times
 * shorter than the list). Chunk c holds value j at pool index c * CHUNK + j. Lists only grow; the
 * whole structure is dropped with its memtable.
 */
import { type BlockPool, SlotColumn } from './stream-id-table.js';

const CHUNK_BITS = 3;
const CHUNK = 1 << CHUNK_BITS;

export class ChunkedLists {
  private readonly pool: SlotColumn;
  private chunks = 0;
  private readonly first: SlotColumn;
  private readonly length: SlotColumn;
  /** Per list (one slot each, pushed: the array stays packed). */
  private readonly more: (number[] | undefined)[] = [];
  /** Lists made. */
  private lists = 0;
  /** Values held, every list together. */
  values = 0;

  constructor(blocks?: BlockPool) {
    this.pool = new SlotColumn(blocks);
    this.first = new SlotColumn(blocks);
    this.length = new SlotColumn(blocks);
  }

  /** Gives the column blocks back to their pool (Memtable.release): nothing is read after. */
  release(): void {
    this.pool.release();
    this.first.release();
    this.length.release();
  }

  /** A new empty list; returns its number. */
  create(): number {
    const l = this.lists++;
    this.length.set(l, 0);
    this.more.push(undefined);
    return l;
  }

  push(l: number, v: number): void {
    const n = this.length.get(l);
    const j = n & (CHUNK - 1);
    let c: number;
    if (j !== 0) c = n < CHUNK ? this.first.get(l) : ((this.more[l] as number[])[(n >>> CHUNK_BITS) - 1] as number);
    else {
      c = this.chunks++;
      if (n === 0) this.first.set(l, c);
      else {
        const more = this.more[l];
        if (more === undefined) this.more[l] = [c];
        else more.push(c);
      }
    }
    this.pool.set(c * CHUNK + j, v);
    this.length.set(l, n + 1);
    this.values++;
  }

  /** Value i of list l (i below its size). */
  at(l: number, i: number): number {
    const c = i < CHUNK ? this.first.get(l) : ((this.more[l] as number[])[(i >>> CHUNK_BITS) - 1] as number);
    return this.pool.get(c * CHUNK + (i & (CHUNK - 1)));
  }

  /** Appends values from..to (inclusive, within the list) of list l to `out`, a chunk at a time. */
  read(l: number, from: number, to: number, out: number[]): void {
    const more = this.more[l];
    for (let i = from; i <= to; ) {
      const c = i < CHUNK ? this.first.get(l) : ((more as number[])[(i >>> CHUNK_BITS) - 1] as number);
      const end = Math.min(to, i | (CHUNK - 1));
      for (let at = c * CHUNK + (i & (CHUNK - 1)); i <= end; i++, at++) out.push(this.pool.get(at));
    }
  }

  size(l: number): number {
    return this.length.get(l);
  }
}
