/**
 * A hash table from 48-bit keys (lib/format/key-hash.ts: `hi` holds 16 bits) to non-zero numbers,
 * in typed arrays: open addressing with linear probing, load <= 0.7, deletion by shifting later
 * members of a probe run back (no tombstones to slow lookups). What the index keeps per command id
 * (CommandTable, RecentKeys) sits on it: 15 bytes per slot (21-43 per key as the load moves
 * between 0.35 and 0.7), off the JS heap, nothing for the garbage collector to trace.
 *
 * Each slot has a one-byte tag, 0 when the slot is empty, else a digest of the key (never 0). A
 * probe walks the tags and reads a slot's key only when its tag matches, so a key that is absent
 * (most lookups: every new command id an append checks) touches the tag array alone, 1/15 of the
 * table's bytes. Random reads cost what the array they hit costs: on the bench VM a
 * dependent read in 2 MB takes ~17 ns, in 32 MB ~170 ns (a 1.26M-key table is 2 MB of tags).
 */
import type { Key } from '../format/key-hash.js';

const MIN_CAPACITY = 1024;

/**
 * Backward-shift deletion in linear probing: with slot i just emptied, whether the member at j
 * (later in the same probe run) may move back to i, which it may unless its home slot is
 * cyclically inside (i, j]. Shared with StreamIdTable.
 */
export function shiftsBack(i: number, j: number, home: number): boolean {
  return i <= j ? !(i < home && home <= j) : !(i < home || home <= j);
}

/** The tag of a key: a byte of its high half mixed with the low half's top byte (bits the home
 * slot does not use below 2^24 slots), 0 replaced by 1 (0 marks an empty slot). Keys hold 48 bits
 * (key-hash.ts): the high half has 16. */
function tagOf(hi: number, lo: number): number {
  return (hi ^ (lo >>> 24)) & 0xff || 1;
}

export class KeyTable {
  private tag = new Uint8Array(MIN_CAPACITY);
  private hi = new Uint16Array(MIN_CAPACITY);
  private lo = new Uint32Array(MIN_CAPACITY);
  private value = new Float64Array(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  /** Keys held. */
  size = 0;

  /** The key's value, 0 when absent. */
  get(key: Key): number {
    const i = this.slotFor(key.hi, key.lo);
    return this.tag[i] === 0 ? 0 : (this.value[i] as number);
  }

  /**
   * Replaces the key's value (0 when absent) with `next(value)` in one probe, adding the key when
   * it was absent and the result is non-zero; returns the previous value.
   */
  update(key: Key, next: (value: number) => number): number {
    let i = this.slotFor(key.hi, key.lo);
    const was = this.tag[i] === 0 ? 0 : (this.value[i] as number);
    const value = next(was);
    if (value === was || value === 0) return was;
    if (was === 0) {
      // A wider hi would be stored cut to 16 bits and never found again.
      if (key.hi > 0xffff) throw new RangeError(`key hi ${key.hi} is wider than 16 bits`);
      if ((this.size + 1) * 10 > (this.mask + 1) * 7) {
        this.rehash((this.mask + 1) * 2);
        i = this.slotFor(key.hi, key.lo);
      }
      this.tag[i] = tagOf(key.hi, key.lo);
      this.hi[i] = key.hi;
      this.lo[i] = key.lo;
      this.size++;
    }
    this.value[i] = value;
    return was;
  }

  /** Removes the key if present and returns its value (0: absent); the table shrinks when it falls
   * below 1/8 full. */
  delete(key: Key): number {
    let i = this.slotFor(key.hi, key.lo);
    if (this.tag[i] === 0) return 0;
    const was = this.value[i] as number;
    for (let j = (i + 1) & this.mask; this.tag[j] !== 0; j = (j + 1) & this.mask) {
      if (!shiftsBack(i, j, (this.lo[j] as number) & this.mask)) continue;
      this.tag[i] = this.tag[j] as number;
      this.hi[i] = this.hi[j] as number;
      this.lo[i] = this.lo[j] as number;
      this.value[i] = this.value[j] as number;
      i = j;
    }
    this.tag[i] = 0;
    this.value[i] = 0;
    this.size--;
    if (this.size * 8 < this.mask + 1 && this.mask + 1 > MIN_CAPACITY) this.rehash(Math.max(MIN_CAPACITY, (this.mask + 1) / 4));
    return was;
  }

  /** log2 of the table's slots: a key's home slot (home) has that many bits. */
  get slotBits(): number {
    return 31 - Math.clz32(this.mask + 1);
  }

  /** The slot a key of this low half is looked for first: deletions in this order sweep the arrays
   * (RecentKeys.dropOldest). */
  home(lo: number): number {
    return lo & this.mask;
  }

  /** Calls `fn` for every key and its value, in no particular order. */
  forEach(fn: (hi: number, lo: number, value: number) => void): void {
    for (let i = 0; i <= this.mask; i++) {
      if (this.tag[i] !== 0) fn(this.hi[i] as number, this.lo[i] as number, this.value[i] as number);
    }
  }

  /** The key's slot, or the empty slot where it would go. */
  private slotFor(hi: number, lo: number): number {
    const t = tagOf(hi, lo);
    let i = lo & this.mask;
    for (let g = this.tag[i] as number; g !== 0; g = this.tag[i] as number) {
      if (g === t && this.hi[i] === hi && this.lo[i] === lo) return i;
      i = (i + 1) & this.mask;
    }
    return i;
  }

  /**
   * Takes over `other`'s arrays when they have more slots than this table's, moving this table's
   * keys into them; `other` is left empty. Why: a doubling's cost is mostly first touches of the
   * new arrays' pages (~10 us per 4 KiB on the bench VM: ~45 ms for the 1M-slot step), and a
   * retired memtable's table is already grown and touched, so the next memtable takes it instead
   * of doubling its own way up.
   */
  adoptArraysOf(other: KeyTable): void {
    if (other.mask <= this.mask) return;
    const { tag, hi, lo, value } = this;
    this.tag = other.tag;
    this.hi = other.hi;
    this.lo = other.lo;
    this.value = other.value;
    this.mask = other.mask;
    other.allocate(MIN_CAPACITY);
    other.size = 0;
    // The tag alone marks a slot taken: values, high and low halves under a zero tag are never read.
    this.tag.fill(0);
    this.insertAll(tag, hi, lo, value);
  }

  private rehash(capacity: number): void {
    const { tag, hi, lo, value } = this;
    this.allocate(capacity);
    this.insertAll(tag, hi, lo, value);
  }

  /** Fresh, empty arrays of `capacity` slots (a power of two); keys already held are not moved. */
  private allocate(capacity: number): void {
    this.tag = new Uint8Array(capacity);
    this.hi = new Uint16Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.value = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  /** Puts the keys of the (old) arrays into this table's current ones, which have room. */
  private insertAll(tag: Uint8Array, hi: Uint16Array, lo: Uint32Array, value: Float64Array): void {
    for (let j = 0; j < tag.length; j++) {
      if (tag[j] === 0) continue;
      const i = this.slotFor(hi[j] as number, lo[j] as number);
      this.tag[i] = tag[j] as number;
      this.hi[i] = hi[j] as number;
      this.lo[i] = lo[j] as number;
      this.value[i] = value[j] as number;
    }
  }
}
