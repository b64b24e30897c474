/**
 * Keys remembered for a retention period after they were added: the recent-command dictionary of
 * the ENode design. It holds 48-bit key hashes (lib/format/key-hash.ts), not the ids, in a KeyTable
 * beside a FIFO ring of the same keys in insertion order, both in typed arrays: about 27-55 bytes
 * per key off the JS heap, 35 for the e2e bench's 1.25M (a Set of the id strings took about 80, on
 * it). Eviction drops the oldest keys in O(evicted) with one counter per second of insertions
 * instead of a timestamp per key.
 *
 * Each key holds the non-zero value it was first added with; after a second add of the same key
 * `get` answers SEEN_AGAIN. The store keeps there the position of a command's only event
 * (store-index.ts). A key added again keeps its ring slot, in the bucket of its first add: the table
 * then holds the time of its latest add (as -(time + 1)), so dropping the key moves keptSince past
 * that time too, not only past its first bucket (a key added again seconds later, another command
 * id of the same 48-bit key, must not be claimed absent over the time of that add).
 * A hash collision makes `get` answer for a key never added, or with another id's value; that is
 * safe because an answer only says where to look first, and every hit is checked against the
 * record.
 *
 * The set also holds at most `limit` keys: past it, a new key drops the oldest DROP_SHARE of the
 * limit at once (so it holds between limit - limit * DROP_SHARE and limit keys). Without a bound it
 * would hold every command of the retention period (a week by default: a few hundred million keys
 * at a thousand commands a second). A key dropped early is treated like an evicted one: keptSince
 * moves past its bucket, so lookups search the memtables and segments for it.
 *
 * Why drops come in batches: a full set drops a key per new one, and deleting one key is a random
 * access to each of the table's arrays, which at tens of thousands of keys are larger than a
 * core's cache: that delete cost as much as the rest of an append's work on the set. A batch is
 * deleted in the order of the keys' home slots (dropOldest), a sweep through the arrays.
 */
import type { Key } from '../format/key-hash.js';
import { indexClock } from './index-clock.js';
import { FILTER_KEYS_PER_ENTRY, justPast, KeyFilter } from './key-filter.js';
import { KeyTable } from './key-table.js';

const MIN_RING = 1024;
export const SEEN_AGAIN = 1;
/** Keys are counted in buckets of insertions this long (ms); eviction drops whole buckets. */
const BUCKET_MS = 1000;
/** The share of its limit a full set drops at once (see the file's comment). */
const DROP_SHARE = 1 / 16;

export class RecentKeys {
  private readonly table = new KeyTable();
  /** The keys in insertion order: slots [head, head + size) of a ring. */
  private ringHi = new Uint16Array(MIN_RING);
  private ringLo = new Uint32Array(MIN_RING);
  private head = 0;
  private readonly buckets: { time: number; count: number }[] = [];
  /**
   * Every key added at or after this time is still held. It starts at the set's creation and moves
   * past each evicted bucket's end: a bucket holds keys added up to BUCKET_MS after its start, so a
   * key up to that much younger than an eviction's cutoff may be gone with it.
   */
  keptSince: number;
  /** With a bound, from the first key the set drops: every key added since the set's keptSince at
   * that time is also in this filter, which proves absence over about FILTER_KEYS_PER_ENTRY times
   * as many keys as the set holds (absentSince). A set that never fills pays nothing for it. */
  private filter: KeyFilter | undefined;

  /** `now`: when the set starts; no key added before it was ever held. `limit`: the most keys it
   * holds at once. */
  constructor(
    now = indexClock.now(),
    private readonly limit = Number.POSITIVE_INFINITY,
  ) {
    this.keptSince = now;
  }

  /**
   * For a key `get` answered 0: since when it is known not to have been added. keptSince, or earlier when
   * the filter rules it out of a generation (KeyFilter.absentSince).
   */
  absentSince(key: Key): number {
    const f = this.filter;
    return f === undefined ? this.keptSince : Math.min(this.keptSince, f.absentSince(key.hi, key.lo));
  }

  /** Remembers `key` with `value` (> 1), or marks it SEEN_AGAIN if it is already remembered. */
  add(key: Key, now: number, value: number): void {
    // Every add, a repeated key's too: the filter's invariant is over the times keys were added.
    this.filter?.add(key.hi, key.lo, now);
    const count = this.table.size;
    if (count === this.ringHi.length) this.growRing();
    // Already remembered: the table keeps the latest add's time (dropOldest).
    if (this.table.update(key, (was) => (was === 0 ? value : Math.min(was < 0 ? was : 0, -(now + 1)))) !== 0) return;
    const tail = (this.head + count) & (this.ringHi.length - 1);
    this.ringHi[tail] = key.hi;
    this.ringLo[tail] = key.lo;
    const last = this.buckets[this.buckets.length - 1];
    if (last && now - last.time < BUCKET_MS) last.count++;
    else this.buckets.push({ time: now, count: 1 });
    if (this.table.size > this.limit) this.dropOldest(Math.max(this.table.size - this.limit, Math.floor(this.limit * DROP_SHARE)));
  }

  /** The key's value; SEEN_AGAIN once it was added again; 0 when it is not remembered. */
  get(key: Key): number {
    const v = this.table.get(key);
    return v < 0 ? SEEN_AGAIN : v;
  }

  /** Forgets the keys added before `cutoff` (to the second). */
  evictBefore(cutoff: number): void {
    this.filter?.evictBefore(cutoff);
    let n = 0;
    for (const b of this.buckets) {
      if (b.time >= cutoff) break;
      n += b.count;
    }
    this.dropOldest(n);
  }

  /** Forgets the `n` oldest keys. keptSince moves past the end of every bucket they came from, a
   * bucket left partly held included: its remaining keys are still answered, but a miss no longer
   * proves a key of its time absent. */
  private dropOldest(n: number): void {
    if (n > 0 && this.filter === undefined && Number.isFinite(this.limit)) this.startFilter();
    this.deleteOldest(Math.min(n, this.table.size));
    while (n > 0 && this.buckets.length > 0) {
      const oldest = this.buckets[0] as { time: number; count: number };
      const k = Math.min(n, oldest.count);
      n -= k;
      oldest.count -= k;
      this.keptSince = Math.max(this.keptSince, oldest.time + BUCKET_MS);
      if (oldest.count === 0) this.buckets.shift();
    }
  }

  /** Deletes the `n` oldest keys from the table, in the order of their home slots (a counting sort
   * on the slots' high bits: a sweep through the table's arrays, not a random access per key), and
   * moves the ring's head past them. */
  private deleteOldest(n: number): void {
    if (n === 0) return;
    const ringMask = this.ringHi.length - 1;
    const order = new Uint32Array(n);
    const slotBits = this.table.slotBits;
    const bucketBits = Math.min(slotBits, 31 - Math.clz32(n));
    const shift = slotBits - bucketBits;
    const starts = new Uint32Array((1 << bucketBits) + 1);
    for (let j = 0; j < n; j++) starts[(this.table.home(this.ringLo[(this.head + j) & ringMask] as number) >>> shift) + 1]++;
    for (let b = 1; b < starts.length; b++) starts[b] = (starts[b] as number) + (starts[b - 1] as number);
    for (let j = 0; j < n; j++) {
      const b = this.table.home(this.ringLo[(this.head + j) & ringMask] as number) >>> shift;
      order[starts[b] as number] = j;
      starts[b] = (starts[b] as number) + 1;
    }
    for (let j = 0; j < n; j++) {
      const r = (this.head + (order[j] as number)) & ringMask;
      const v = this.table.delete({ hi: this.ringHi[r] as number, lo: this.ringLo[r] as number });
      // Added again after its bucket: not held since, and added as late as that.
      if (v < 0) this.keptSince = Math.max(this.keptSince, justPast(-v - 1));
    }
    this.head = (this.head + n) & ringMask;
  }

  get size(): number {
    return this.table.size;
  }

  /** Bytes of the filter's arrays. */
  get filterBytes(): number {
    return this.filter?.bytes ?? 0;
  }

  /** The filter, holding every key the set holds: all added since keptSince. */
  private startFilter(): void {
    const f = new KeyFilter(this.keptSince, this.limit * FILTER_KEYS_PER_ENTRY);
    const ringMask = this.ringHi.length - 1;
    const now = indexClock.now();
    for (let k = 0; k < this.table.size; k++)
      f.add(this.ringHi[(this.head + k) & ringMask] as number, this.ringLo[(this.head + k) & ringMask] as number, now);
    this.filter = f;
  }

  private growRing(): void {
    const count = this.table.size;
    const hi = new Uint16Array(this.ringHi.length * 2);
    const lo = new Uint32Array(this.ringLo.length * 2);
    const ringMask = this.ringHi.length - 1;
    for (let k = 0; k < count; k++) {
      hi[k] = this.ringHi[(this.head + k) & ringMask] as number;
      lo[k] = this.ringLo[(this.head + k) & ringMask] as number;
    }
    this.ringHi = hi;
    this.ringLo = lo;
    this.head = 0;
  }
}
