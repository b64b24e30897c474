/**
 * The command entries of a memtable: the 64-bit key of a command id to the positions of that
 * command's events, oldest first, in a KeyTable: about 21-43 bytes per command off the JS heap, where
 * a Map of id strings took about 70 and gave the garbage collector an object per command to trace.
 *
 * Keys are hashes, so two ids may share an entry; every position is a candidate that the reader
 * checks against its record, as with segments. Most commands append once, so the table holds that
 * position itself (positions are never 0: chunks start with a header); a command with several
 * events keeps them in an overflow list, and the table holds -(list index + 1).
 */
import type { Key } from '../format/key-hash.js';
import { KeyTable } from './key-table.js';
import type { SegmentEntries } from './segment-backend.js';

export class CommandTable {
  private readonly table = new KeyTable();
  private readonly lists: number[][] = [];
  /** Positions held. */
  entries = 0;

  /** Distinct keys. */
  get size(): number {
    return this.table.size;
  }

  add(key: Key, positions: readonly number[]): void {
    if (positions.length === 0) return;
    this.table.update(key, (v) => {
      if (v === 0 && positions.length === 1) return positions[0] as number;
      if (v >= 0) return -this.lists.push(v === 0 ? [...positions] : [v, ...positions]);
      for (const p of positions) (this.lists[-v - 1] as number[]).push(p);
      return v;
    });
    this.entries += positions.length;
  }

  /** Takes over a retired table's grown arrays when they are bigger (KeyTable.adoptArraysOf);
   * `retired` is left without keys. */
  adoptArraysOf(retired: CommandTable): void {
    this.table.adoptArraysOf(retired.table);
  }

  /** Candidate positions of the key's events, oldest first. */
  get(key: Key): number[] | undefined {
    const v = this.table.get(key);
    if (v === 0) return undefined;
    return v > 0 ? [v] : [...(this.lists[-v - 1] as number[])];
  }

  /** Calls `fn` for every entry: key, ordinal within its key, position. */
  forEach(fn: (hi: number, lo: number, seq: number, position: number) => void): void {
    this.table.forEach((hi, lo, v) => {
      if (v > 0) fn(hi, lo, 0, v);
      else {
        const list = this.lists[-v - 1] as number[];
        for (let seq = 0; seq < list.length; seq++) fn(hi, lo, seq, list[seq] as number);
      }
    });
  }

  /** Writes every entry into `out` (arrays of exactly `entries` entries) as a segment build takes
   * it: key, ordinal within the key, position. */
  toEntries(out: SegmentEntries): SegmentEntries {
    let i = 0;
    this.forEach((hi, lo, seq, position) => {
      out.hi[i] = hi;
      out.lo[i] = lo;
      out.seq[i] = seq;
      out.position[i] = position;
      i++;
    });
    // Reused arrays (EntryArrays) hold the last build's entries: every slot must be written.
    if (i !== out.hi.length) throw new Error(`command table yielded ${i} entries of ${out.hi.length}`);
    return out;
  }
}
