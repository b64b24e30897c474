/**
 * The command entries of a memtable: the 64-bit key of a command id (lib/format/key-hash.ts) to
 * the positions of that command's events, oldest first, in an open-addressing table (linear
 * probing, load <= 0.7) of typed arrays: about 25 bytes per command off the JS heap, where a Map of
 * id strings took about 70 and gave the garbage collector an object per command to trace.
 *
 * Keys are hashes, so two ids may share an entry; every position is a candidate that the reader
 * checks against its record, as with segments. Most commands append once, so a slot holds that
 * position inline; a command with several events keeps them in an overflow list (slot value
 * -(list index + 1)). Position 0 is never an event's (chunks start with a header), so it marks an
 * empty slot.
 */
import type { Key } from '../format/key-hash.js';

const MIN_CAPACITY = 1024;

export class CommandTable {
  private hi = new Uint32Array(MIN_CAPACITY);
  private lo = new Uint32Array(MIN_CAPACITY);
  private value = new Float64Array(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  private readonly lists: number[][] = [];
  /** Distinct keys. */
  size = 0;
  /** Positions held. */
  entries = 0;

  add(key: Key, positions: readonly number[]): void {
    if (positions.length === 0) return;
    if ((this.size + 1) * 10 > (this.mask + 1) * 7) this.grow();
    const i = this.slotFor(key.hi, key.lo);
    const v = this.value[i] as number;
    if (v === 0) {
      this.hi[i] = key.hi;
      this.lo[i] = key.lo;
      this.size++;
      if (positions.length === 1) this.value[i] = positions[0] as number;
      else this.value[i] = -(this.lists.push([...positions]) - 1) - 1;
    } else if (v > 0) {
      this.value[i] = -(this.lists.push([v, ...positions]) - 1) - 1;
    } else {
      const list = this.lists[-v - 1] as number[];
      for (const p of positions) list.push(p);
    }
    this.entries += positions.length;
  }

  /** Candidate positions of the key's events, oldest first. */
  get(key: Key): number[] | undefined {
    const v = this.value[this.slotFor(key.hi, key.lo)] as number;
    if (v === 0) return undefined;
    return v > 0 ? [v] : [...(this.lists[-v - 1] as number[])];
  }

  /** Calls `fn` for every entry: key, ordinal within its key, position. */
  forEach(fn: (hi: number, lo: number, seq: number, position: number) => void): void {
    for (let i = 0; i <= this.mask; i++) {
      const v = this.value[i] as number;
      if (v === 0) continue;
      const hi = this.hi[i] as number;
      const lo = this.lo[i] as number;
      if (v > 0) fn(hi, lo, 0, v);
      else {
        const list = this.lists[-v - 1] as number[];
        for (let seq = 0; seq < list.length; seq++) fn(hi, lo, seq, list[seq] as number);
      }
    }
  }

  /** The key's slot, or the empty slot where it would go. */
  private slotFor(hi: number, lo: number): number {
    let i = lo & this.mask;
    while (this.value[i] !== 0 && (this.hi[i] !== hi || this.lo[i] !== lo)) i = (i + 1) & this.mask;
    return i;
  }

  private grow(): void {
    const { hi, lo, value } = this;
    const capacity = (this.mask + 1) * 2;
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
