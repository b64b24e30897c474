/**
 * The arrays a segment build takes its entries in (SegmentEntries), kept from one build to the
 * next. Fresh memory is paid for at first touch, a page fault per 4 KiB (~16 µs on the bench VM:
 * ~40 ms on the JS thread for the ~10 MB of a 500k-entry build), and builds run one at a time
 * (IndexJobs' queue), each backend done with the entries when its promise settles (the native
 * one reads them in place on a pool thread until then), so one set, grown to the largest build so
 * far, serves them all.
 */
import { newSegmentEntries, type SegmentEntries } from './segment-backend.js';

export class EntryArrays {
  private held: SegmentEntries | undefined;

  /** Arrays of exactly `n` entries, valid until the next call. */
  take(n: number): SegmentEntries {
    let held = this.held;
    if (held === undefined || held.hi.length < n) {
      // Some room to grow: memtables of one store fill to about the same size.
      held = newSegmentEntries(Math.ceil(n * 1.25));
      this.held = held;
    }
    return { hi: held.hi.subarray(0, n), lo: held.lo.subarray(0, n), seq: held.seq.subarray(0, n), position: held.position.subarray(0, n) };
  }

  /** Lets the arrays go (the store is closing). */
  clear(): void {
    this.held = undefined;
  }
}
