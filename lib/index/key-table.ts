/**
 * A hash table from 64-bit keys (lib/format/key-hash.ts) to non-zero numbers, in typed arrays:
 * open addressing with linear probing, load <= 0.7, deletion by shifting later members of a probe
 * run back (no tombstones to slow lookups). A value of 0 marks an empty slot, so every key, even
 * (0, 0), can be stored. What the index keeps per command id (CommandTable, RecentKeys) sits on it:
 * 16 bytes per slot (23-46 per key as the load moves between 0.35 and 0.7), off the JS heap,
 * nothing for the garbage collector to trace.
 */
import type { Key } from '../format/key-hash.js';

const MIN_CAPACITY = 1024;

export class KeyTable {
  private hi = new Uint32Array(MIN_CAPACITY);
  private lo = new Uint32Array(MIN_CAPACITY);
  private value = new Float64Array(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  /** Keys held. */
  size = 0;

  /** The key's value, 0 when absent. */
  get(key: Key): number {
    return this.value[this.slotFor(key.hi, key.lo)] as number;
  }

  /**
   * Replaces the key's value (0 when absent) with `next(value)` in one probe, adding the key when
   * it was absent and the result is non-zero; returns the previous value.
   */
  update(key: Key, next: (value: number) => number): number {
    let i = this.slotFor(key.hi, key.lo);
    const was = this.value[i] as number;
    const value = next(was);
    if (value === was || value === 0) return was;
    if (was === 0) {
      if ((this.size + 1) * 10 > (this.mask + 1) * 7) {
        this.rehash((this.mask + 1) * 2);
        i = this.slotFor(key.hi, key.lo);
      }
      this.hi[i] = key.hi;
      this.lo[i] = key.lo;
      this.size++;
    }
    this.value[i] = value;
    return was;
  }

  /** Removes the key if present; the table shrinks when it falls below 1/8 full. */
  delete(key: Key): void {
    let i = this.slotFor(key.hi, key.lo);
    if (this.value[i] === 0) return;
    for (let j = (i + 1) & this.mask; this.value[j] !== 0; j = (j + 1) & this.mask) {
      const home = (this.lo[j] as number) & this.mask;
      // The member at j may move to i only if its home slot is not cyclically inside (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      this.hi[i] = this.hi[j] as number;
      this.lo[i] = this.lo[j] as number;
      this.value[i] = this.value[j] as number;
      i = j;
    }
    this.value[i] = 0;
    this.size--;
    if (this.size * 8 < this.mask + 1 && this.mask + 1 > MIN_CAPACITY) this.rehash(Math.max(MIN_CAPACITY, (this.mask + 1) / 4));
  }

  /** Calls `fn` for every key and its value, in no particular order. */
  forEach(fn: (hi: number, lo: number, value: number) => void): void {
    for (let i = 0; i <= this.mask; i++) {
      const v = this.value[i] as number;
      if (v !== 0) fn(this.hi[i] as number, this.lo[i] as number, v);
    }
  }

  /** The key's slot, or the empty slot where it would go. */
  private slotFor(hi: number, lo: number): number {
    let i = lo & this.mask;
    while (this.value[i] !== 0 && (this.hi[i] !== hi || this.lo[i] !== lo)) i = (i + 1) & this.mask;
    return i;
  }

  private rehash(capacity: number): void {
    const { hi, lo, value } = this;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.value = new Float64Array(capacity);
    this.mask = capacity - 1;
    for (let j = 0; j < value.length; j++) {
      if (value[j] === 0) continue;
      const i = this.slotFor(hi[j] as number, lo[j] as number);
      this.hi[i] = hi[j] as number;
      this.lo[i] = lo[j] as number;
      this.value[i] = value[j] as number;
    }
  }
}
