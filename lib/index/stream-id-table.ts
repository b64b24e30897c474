/**
 * Stream ids to dense slot numbers: the key of LatestVersions and StreamRuns, which keep their
 * per-stream columns by slot (SlotColumn). A JS Map did this before, and had two faults for a
 * store: V8 refuses a Map of more than 2^24 entries ("Map maximum size exceeded"; the latest-version
 * dictionary holds every stream written within retentionMs, 7 days by default), and each doubling
 * rebuilt it within one call: on the bench VM a 55 ms stall of the event loop at 262k streams,
 * over 500 ms at 1M (with the columns' growth), most of it first touches of the new pages.
 *
 * Layout: ids in blocks of 2^14 slots, so that growing never copies them; an index of buckets
 * (slot + 1, 0 when empty, and the id's 32-bit hash beside it, so a probe compares ids only when the
 * hashes match), open addressing with linear probing, deletion by shifting later members of a
 * probe run back (no tombstones). The index doubles incrementally: at load 1/2 a twice-as-large one
 * is allocated, and each add then enters MOVES_PER_ADD slots into it; lookups use the old index,
 * which stays complete until the new one holds every slot and replaces it. Freed slots are reused;
 * the index does not shrink.
 *
 * Hash: FNV-1a over the id's UTF-16 units from a per-process random seed, then MurmurHash3's
 * finaliser (the seed, so ids crafted in advance cannot all land in one probe run).
 */

import { shiftsBack } from './key-table.js';

const BLOCK_BITS = 14;
const BLOCK = 1 << BLOCK_BITS;
const BLOCK_MASK = BLOCK - 1;
const MIN_BUCKETS = 1024;
/** Enough that a doubling finishes long before the old index fills: it starts at load 1/2 and
 * has (FINISH_LOAD - 1/2) of its size in adds to enter every slot. */
const MOVES_PER_ADD = 8;
const FINISH_LOAD = 0.85;
const SEED = (Math.random() * 0x1_0000_0000) >>> 0;

// A lookup asks several tables for one id (the dictionary, then each memtable): the last hash is
// kept, so the id is hashed once (a Map kept its hash in the string itself).
let lastId = '';
let lastHash = 0;

/** The table's hash of a stream id. */
export function streamHash(id: string): number {
  if (id === lastId) return lastHash;
  let h = SEED ^ id.length;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  lastId = id;
  lastHash = h >>> 0;
  return lastHash;
}

/** One index: buckets of (slot + 1, hash). */
class BucketIndex {
  readonly slot: Int32Array;
  readonly hash: Uint32Array;
  readonly mask: number;
  count = 0;

  constructor(buckets: number) {
    this.slot = new Int32Array(buckets);
    this.hash = new Uint32Array(buckets);
    this.mask = buckets - 1;
  }

  insert(h: number, slot: number): void {
    let i = h & this.mask;
    while (this.slot[i] !== 0) i = (i + 1) & this.mask;
    this.slot[i] = slot + 1;
    this.hash[i] = h;
    this.count++;
  }

  remove(h: number, slot: number): void {
    let i = h & this.mask;
    for (let s = this.slot[i] as number; s !== slot + 1; s = this.slot[i] as number) {
      if (s === 0) return;
      i = (i + 1) & this.mask;
    }
    for (let j = (i + 1) & this.mask; this.slot[j] !== 0; j = (j + 1) & this.mask) {
      if (!shiftsBack(i, j, (this.hash[j] as number) & this.mask)) continue;
      this.slot[i] = this.slot[j] as number;
      this.hash[i] = this.hash[j] as number;
      i = j;
    }
    this.slot[i] = 0;
    this.count--;
  }
}

export class StreamIdTable {
  private readonly ids: (string | undefined)[][] = [];
  private index = new BucketIndex(MIN_BUCKETS);
  /** The next index while a doubling fills it; slots below `moved` are in it. */
  private grown: BucketIndex | undefined;
  private moved = 0;
  private readonly free: number[] = [];
  /** Slots handed out so far: every live slot is below it. */
  end = 0;
  /** Ids held. */
  size = 0;

  /** `hash`: streamHash; tests pass a weak one to force long probe runs. */
  constructor(private readonly hash: (id: string) => number = streamHash) {}

  /** The id's slot, or -1. */
  get(id: string): number {
    const h = this.hash(id);
    const { slot, hash, mask } = this.index;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = (slot[i] as number) - 1;
      if (s < 0) return -1;
      if (hash[i] === h && this.idAt(s) === id) return s;
    }
  }

  /** Adds an id the table does not hold and returns its slot (a freed one first). */
  add(id: string): number {
    const s = this.free.pop() ?? this.end++;
    if (s >>> BLOCK_BITS === this.ids.length) this.ids.push(new Array<string | undefined>(BLOCK).fill(undefined));
    (this.ids[s >>> BLOCK_BITS] as (string | undefined)[])[s & BLOCK_MASK] = id;
    const h = this.hash(id);
    this.index.insert(h, s);
    if (this.grown !== undefined && s < this.moved) this.grown.insert(h, s);
    this.size++;
    if (this.grown === undefined && this.index.count * 2 > this.index.mask + 1) {
      this.grown = new BucketIndex((this.index.mask + 1) * 2);
      this.moved = 0;
    }
    if (this.grown !== undefined) this.moveSlots(this.index.count > FINISH_LOAD * (this.index.mask + 1) ? this.end : MOVES_PER_ADD);
    return s;
  }

  /** Frees a live slot. */
  remove(s: number): void {
    const id = this.idAt(s);
    if (id === undefined) return;
    const h = this.hash(id);
    this.index.remove(h, s);
    if (this.grown !== undefined && s < this.moved) this.grown.remove(h, s);
    (this.ids[s >>> BLOCK_BITS] as (string | undefined)[])[s & BLOCK_MASK] = undefined;
    this.free.push(s);
    this.size--;
  }

  /** The id in a slot; undefined for a freed or never used one. */
  idAt(s: number): string | undefined {
    return this.ids[s >>> BLOCK_BITS]?.[s & BLOCK_MASK];
  }

  /**
   * Takes over `other`'s index when it has more buckets than this one's, cleared and holding this
   * table's ids (a doubling under way in either is dropped); `other` is left empty. Why: a
   * memtable's table doubles its way up from MIN_BUCKETS, each doubling touching a fresh array's
   * pages for the first time; a retired memtable's (StoreIndex: as it leaves every lookup) is grown
   * and touched already, and its successor, filling with a like workload, would grow as large.
   */
  adoptIndexOf(other: StreamIdTable): void {
    // The largest index of each: one being filled by a doubling is the larger.
    const big = other.grown ?? other.index;
    if (big.mask <= (this.grown ?? this.index).mask || this.size * 2 > big.mask + 1) return;
    big.slot.fill(0); // a zero slot marks an empty bucket: the hashes beside need no clearing
    big.count = 0;
    for (let s = 0; s < this.end; s++) {
      const id = this.idAt(s);
      if (id !== undefined) big.insert(this.hash(id), s);
    }
    this.index = big;
    this.grown = undefined;
    other.index = new BucketIndex(MIN_BUCKETS);
    other.grown = undefined;
    other.ids.length = 0;
    other.free.length = 0;
    other.end = 0;
    other.size = 0;
  }

  private moveSlots(n: number): void {
    const grown = this.grown as BucketIndex;
    for (const stop = Math.min(this.end, this.moved + n); this.moved < stop; this.moved++) {
      const id = this.idAt(this.moved);
      if (id !== undefined) grown.insert(this.hash(id), this.moved);
    }
    if (this.moved === this.end) {
      this.index = grown;
      this.grown = undefined;
    }
  }
}

/**
 * Column blocks a store's retired memtables give back for its next ones (Memtable.release): a
 * memtable's blocks outlive the young generation, so dropped ones wait for a major collection,
 * which V8 starts late for memory outside its heap. At most `max` are kept; a recycled block holds
 * old values, which no column reads before it sets them.
 */
export class BlockPool {
  private readonly free: Float64Array[] = [];
  constructor(private readonly max: number) {}

  take(): Float64Array {
    return this.free.pop() ?? new Float64Array(BLOCK);
  }

  give(blocks: Float64Array[]): void {
    for (const b of blocks) if (this.free.length < this.max) this.free.push(b);
  }
}

/** Bytes of one column block. */
export const BLOCK_BYTES = BLOCK * 8;

/** A number per slot, in blocks of 2^14 allocated as slots reach them (never copied), from `pool`
 * when given. One element type for every column, so the loads stay monomorphic. */
export class SlotColumn {
  private blocks: Float64Array[] = [];
  constructor(private readonly pool?: BlockPool) {}

  get(s: number): number {
    return (this.blocks[s >>> BLOCK_BITS] as Float64Array)[s & BLOCK_MASK] as number;
  }

  set(s: number, v: number): void {
    while (s >>> BLOCK_BITS >= this.blocks.length) this.blocks.push(this.pool ? this.pool.take() : new Float64Array(BLOCK));
    (this.blocks[s >>> BLOCK_BITS] as Float64Array)[s & BLOCK_MASK] = v;
  }

  /** Gives the blocks to the pool; the column is empty after (a read of a slot then throws). */
  release(): void {
    this.pool?.give(this.blocks);
    this.blocks = [];
  }
}
