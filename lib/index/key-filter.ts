/**
 * A rolling Bloom filter of keys added since `keptSince`: what lets a dictionary bounded to a few
 * tens of thousands of exact entries (RecentKeys, LatestVersions) still prove a key absent over
 * many more keys, at about a byte per key instead of tens. A dictionary miss with a filter miss
 * means the key was not added since the filter's keptSince, so lookups skip every memtable and
 * segment indexed since then: for a new command id or stream, usually all of them. A filter hit
 * proves nothing; the lookup then searches as it did without the filter (a false positive costs
 * that search, never a wrong answer).
 *
 * Layout: two generations of `perGeneration` keys, newest and older, interleaved in one
 * Uint32Array of 512-bit blocks (64 bytes, one cache line): a key's block holds its bits of both
 * generations, 256 each (a blocked Bloom filter per generation, PROBES bits per key in its half),
 * so an absent key costs one cache line, not a line per generation: this runs for every append's
 * stream and command, and the filter is larger than a core's cache. Keys go to the newest generation; when it holds `perGeneration` keys, the
 * older one's half of every block is cleared and becomes the newest. So the filter holds between
 * `perGeneration` and twice as many keys.
 *
 * Invariant (keptSince): every key added at or after keptSince is in a kept generation. A key
 * added while generation g was the newest is in g or a later one, at a time no later than the
 * start of g + 1; so dropping g moves keptSince just past g + 1's start.
 *
 * Keys are 48-bit (`hi` 16 bits, `lo` 32; key-hash.ts) or 32-bit hashes (hi 0).
 */
import { fmix32 } from '../format/key-hash.js';

/** Bits per key at a generation's capacity: with PROBES bits in one 256-bit half block, about 1%
 * of absent keys pass one generation. */
export const FILTER_BITS_PER_KEY = 10;
/** Filter keys per exact entry of the dictionary it extends (memory-budget.ts prices them:
 * FILTER_KEYS_PER_ENTRY * FILTER_BITS_PER_KEY / 8 bytes per entry). */
export const FILTER_KEYS_PER_ENTRY = 24;
const PROBES = 7;
const HALF_WORDS = 8;
const BLOCK_WORDS = 2 * HALF_WORDS;
const MIN_PER_GENERATION = 1024;

interface Generation {
  /** 0 or HALF_WORDS: where its bits are in each block. */
  half: number;
  count: number;
  startedAt: number;
  /** Numbered from 1 in order of start: a dictionary keeps, per entry, the generation that holds
   * it (LatestVersions), so it adds an entry again only when a newer generation started. */
  id: number;
}

/** A time just past `t`: keys added at `t` itself may be in the generation before one started at `t`. */
export function justPast(t: number): number {
  return t + Math.max(Math.abs(t) * Number.EPSILON, Number.MIN_VALUE);
}

export class KeyFilter {
  private readonly bits: Uint32Array;
  /** The older generation first. */
  private readonly gens: Generation[] = [];
  private readonly perGeneration: number;
  private readonly blocks: number;
  private nextId = 1;
  /** Every key added at or after this time (index clock) is in the filter (see the invariant). */
  keptSince: number;

  /** `since`: the filter holds every key added since then (the caller adds those it holds). `capacity`:
   * keys it holds at least, once the first generation is full. */
  constructor(since: number, capacity: number) {
    this.keptSince = since;
    this.perGeneration = Math.max(MIN_PER_GENERATION, Math.ceil(capacity / 2));
    this.blocks = Math.ceil((this.perGeneration * FILTER_BITS_PER_KEY) / (HALF_WORDS * 32));
    this.bits = new Uint32Array(this.blocks * BLOCK_WORDS);
  }

  /** The id of the generation keys go to now; 0 before the first add. */
  get newest(): number {
    return this.gens.length === 0 ? 0 : (this.gens[this.gens.length - 1] as Generation).id;
  }

  /** Adds the key at time `now`; returns the id of the generation that holds it. */
  add(hi: number, lo: number, now: number): number {
    let g = this.gens[this.gens.length - 1];
    if (g === undefined || g.count >= this.perGeneration) g = this.start(now);
    g.count++;
    const h = fmix32(lo ^ Math.imul(hi + 1, 0x9e3779b1));
    const step = (h << 16) | (h >>> 16) | 1;
    const base = this.blockOf(hi, lo) * BLOCK_WORDS + g.half;
    const bits = this.bits;
    for (let i = 0; i < PROBES; i++) {
      const b = (h + Math.imul(i, step)) >>> 24;
      bits[base + (b >>> 5)] = (bits[base + (b >>> 5)] as number) | (1 << (b & 31));
    }
    return g.id;
  }

  /** Whether the key may have been added since keptSince (false: it was not). */
  mayContain(hi: number, lo: number): boolean {
    return this.absentSince(hi, lo) !== this.keptSince;
  }

  /**
   * Since when the key is known not to have been added: +Infinity when the newest generation may
   * hold it, just past the newest one's start when only the older one may (every key added since
   * then is in the newest), keptSince when neither may.
   */
  absentSince(hi: number, lo: number): number {
    const h = fmix32(lo ^ Math.imul(hi + 1, 0x9e3779b1));
    const step = (h << 16) | (h >>> 16) | 1;
    const block = this.blockOf(hi, lo) * BLOCK_WORDS;
    const bits = this.bits;
    const last = this.gens.length - 1;
    next: for (let k = last; k >= 0; k--) {
      const base = block + (this.gens[k] as Generation).half;
      for (let i = 0; i < PROBES; i++) {
        const b = (h + Math.imul(i, step)) >>> 24;
        if (((bits[base + (b >>> 5)] as number) & (1 << (b & 31))) === 0) continue next;
      }
      return k === last ? Number.POSITIVE_INFINITY : justPast((this.gens[k + 1] as Generation).startedAt);
    }
    return this.keptSince;
  }

  /** Drops the older generation if every key of it was added before `cutoff` (a retention's
   * eviction). */
  evictBefore(cutoff: number): void {
    const newer = this.gens[1];
    if (newer !== undefined && newer.startedAt < cutoff) this.dropOlder();
  }

  /** Bytes of the filter's array. */
  get bytes(): number {
    return this.bits.byteLength;
  }

  private start(now: number): Generation {
    if (this.gens.length === 2) this.dropOlder();
    const half = this.gens.length === 0 ? 0 : HALF_WORDS - (this.gens[0] as Generation).half;
    const g = { half, count: 0, startedAt: now, id: this.nextId++ };
    this.gens.push(g);
    return g;
  }

  private dropOlder(): void {
    const older = this.gens.shift() as Generation;
    for (let b = 0; b < this.blocks; b++) this.bits.fill(0, b * BLOCK_WORDS + older.half, b * BLOCK_WORDS + older.half + HALF_WORDS);
    const next = this.gens[0] as Generation;
    // Keys of the dropped generation were added no later than the next one's start.
    this.keptSince = Math.max(this.keptSince, justPast(next.startedAt));
  }

  /** The key's block: the high bits of a mix of the key times the block count (no division). */
  private blockOf(hi: number, lo: number): number {
    return Math.floor(((lo ^ Math.imul(hi, 0x27d4eb2d)) >>> 0) * (this.blocks / 4294967296));
  }
}
