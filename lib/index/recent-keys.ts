/**
 * Keys remembered for a retention period after they were added: the recent-command dictionary of
 * the ENode design. It holds 64-bit key hashes (lib/format/key-hash.ts), not the ids, in an
 * open-addressing table (linear probing, load <= 0.7) beside a FIFO ring of the same keys in
 * insertion order, both in typed arrays: about 20-30 bytes per key off the JS heap, nothing for the
 * garbage collector to trace. A hash collision makes `has` answer true for a key never added; that
 * is safe because `has` only means "look in memory first", and every hit is checked against the
 * record. Eviction drops the oldest keys in O(evicted) with one counter per second of insertions
 * instead of a timestamp per key.
 */
import type { Key } from '../format/key-hash.js';

const MIN_CAPACITY = 1024;

export class RecentKeys {
  private hi = new Uint32Array(MIN_CAPACITY);
  private lo = new Uint32Array(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  private count = 0;
  /** The keys in insertion order: slots [head, head + count) of a ring. */
  private ringHi = new Uint32Array(MIN_CAPACITY);
  private ringLo = new Uint32Array(MIN_CAPACITY);
  private head = 0;
  private readonly buckets: { time: number; count: number }[] = [];

  add(key: Key, now: number): void {
    const { hi, lo } = stored(key);
    if (this.slotOf(hi, lo) >= 0) return;
    if ((this.count + 1) * 10 > (this.mask + 1) * 7) this.resize((this.mask + 1) * 2);
    if (this.count === this.ringHi.length) this.growRing();
    this.insert(hi, lo);
    const tail = (this.head + this.count) & (this.ringHi.length - 1);
    this.ringHi[tail] = hi;
    this.ringLo[tail] = lo;
    this.count++;
    const last = this.buckets[this.buckets.length - 1];
    if (last && now - last.time < 1000) last.count++;
    else this.buckets.push({ time: now, count: 1 });
  }

  has(key: Key): boolean {
    const { hi, lo } = stored(key);
    return this.slotOf(hi, lo) >= 0;
  }

  /** Forgets the keys added before `cutoff` (to the second). */
  evictBefore(cutoff: number): void {
    let n = 0;
    while (this.buckets.length > 0 && (this.buckets[0] as { time: number }).time < cutoff)
      n += (this.buckets.shift() as { count: number }).count;
    const ringMask = this.ringHi.length - 1;
    for (; n > 0 && this.count > 0; n--) {
      this.remove(this.ringHi[this.head] as number, this.ringLo[this.head] as number);
      this.head = (this.head + 1) & ringMask;
      this.count--;
    }
    if (this.count * 8 < this.mask + 1 && this.mask + 1 > MIN_CAPACITY) this.resize(Math.max(MIN_CAPACITY, (this.mask + 1) / 4));
  }

  get size(): number {
    return this.count;
  }

  private slotOf(hi: number, lo: number): number {
    for (let i = lo & this.mask; ; i = (i + 1) & this.mask) {
      const h = this.hi[i] as number;
      const l = this.lo[i] as number;
      if (h === 0 && l === 0) return -1;
      if (h === hi && l === lo) return i;
    }
  }

  private insert(hi: number, lo: number): void {
    let i = lo & this.mask;
    while (this.hi[i] !== 0 || this.lo[i] !== 0) i = (i + 1) & this.mask;
    this.hi[i] = hi;
    this.lo[i] = lo;
  }

  /** Deletes by shifting later members of the probe run back: no tombstones to slow lookups. */
  private remove(hi: number, lo: number): void {
    let i = this.slotOf(hi, lo);
    if (i < 0) return;
    for (let j = (i + 1) & this.mask; this.hi[j] !== 0 || this.lo[j] !== 0; j = (j + 1) & this.mask) {
      const home = (this.lo[j] as number) & this.mask;
      // The member at j may move to i only if its home slot is not cyclically inside (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      this.hi[i] = this.hi[j] as number;
      this.lo[i] = this.lo[j] as number;
      i = j;
    }
    this.hi[i] = 0;
    this.lo[i] = 0;
  }

  private resize(capacity: number): void {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.mask = capacity - 1;
    const ringMask = this.ringHi.length - 1;
    for (let k = 0; k < this.count; k++) {
      const r = (this.head + k) & ringMask;
      this.insert(this.ringHi[r] as number, this.ringLo[r] as number);
    }
  }

  private growRing(): void {
    const hi = new Uint32Array(this.ringHi.length * 2);
    const lo = new Uint32Array(this.ringLo.length * 2);
    const ringMask = this.ringHi.length - 1;
    for (let k = 0; k < this.count; k++) {
      hi[k] = this.ringHi[(this.head + k) & ringMask] as number;
      lo[k] = this.ringLo[(this.head + k) & ringMask] as number;
    }
    this.ringHi = hi;
    this.ringLo = lo;
    this.head = 0;
  }
}

/** (0, 0) marks an empty slot, so that one key is stored as (0, 1): a harmless extra collision. */
function stored(key: Key): Key {
  return key.hi === 0 && key.lo === 0 ? { hi: 0, lo: 1 } : key;
}
