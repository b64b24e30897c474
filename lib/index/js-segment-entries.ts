/**
 * The entries a segment writer reads (EntryCursor): a build's unsorted entries through a sorted
 * index permutation, and a merge's inputs merged. Both in (key, seq, position) order, the order
 * of a segment's entries (index-layout.ts); command entries carry seq 0.
 */
import { compareEntry } from '../format/index-layout.js';
import type { EntryCursor } from './js-segment-reader.js';
import type { WriterScratch } from './js-segment-writer.js';
import type { SegmentEntries } from './segment-backend.js';

/** Unsorted entries in (key, seq, position) order, through an index permutation sorted once
 * (command entries with seq 0: position order is command order). */
export class SortedEntries implements EntryCursor {
  hi = 0;
  lo = 0;
  seq = 0;
  position = 0;
  private readonly order: Uint32Array;
  private i = 0;

  constructor(
    private readonly e: SegmentEntries,
    private readonly command: boolean,
    scratch: WriterScratch,
  ) {
    const { hi, lo, seq, position } = e;
    const [order, spare] = scratch.orderOf(hi.length);
    this.order = order;
    // Differences of 32-bit values and of positions below 2^53 are exact: the sign is the order.
    const compare = command
      ? (a: number, b: number) =>
          (hi[a] as number) - (hi[b] as number) ||
          (lo[a] as number) - (lo[b] as number) ||
          (position[a] as number) - (position[b] as number)
      : (a: number, b: number) =>
          (hi[a] as number) - (hi[b] as number) ||
          (lo[a] as number) - (lo[b] as number) ||
          (seq[a] as number) - (seq[b] as number) ||
          (position[a] as number) - (position[b] as number);
    mergeSort(order, spare, compare);
  }

  next(): boolean {
    if (this.i >= this.order.length) return false;
    const k = this.order[this.i++] as number;
    this.hi = this.e.hi[k] as number;
    this.lo = this.e.lo[k] as number;
    this.seq = this.command ? 0 : (this.e.seq[k] as number);
    this.position = this.e.position[k] as number;
    return true;
  }
}

/** Sorted runs of this many entries start the merge sort. */
const INSERTION_RUN = 16;

/** Sorts `order` by `compare`, stable, through `spare` (as long): a merge sort over typed arrays,
 * which allocates nothing (a typed array's sort with a comparator copies it into the heap). */
function mergeSort(order: Uint32Array, spare: Uint32Array, compare: (a: number, b: number) => number): void {
  const n = order.length;
  for (let start = 0; start < n; start += INSERTION_RUN) {
    const end = Math.min(start + INSERTION_RUN, n);
    for (let i = start + 1; i < end; i++) {
      const v = order[i] as number;
      let j = i - 1;
      for (; j >= start && compare(order[j] as number, v) > 0; j--) order[j + 1] = order[j] as number;
      order[j + 1] = v;
    }
  }
  let src = order;
  let dst = spare;
  for (let width = INSERTION_RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      // The left run's entry first among equals: stable.
      while (i < mid && j < hi) dst[k++] = compare(src[j] as number, src[i] as number) < 0 ? (src[j++] as number) : (src[i++] as number);
      while (i < mid) dst[k++] = src[i++] as number;
      while (j < hi) dst[k++] = src[j++] as number;
    }
    [src, dst] = [dst, src];
  }
  if (src !== order) order.set(src);
}

/** The inputs' entries merged in order; of equal entries, the earlier input's first. */
export class MergedEntries implements EntryCursor {
  hi = 0;
  lo = 0;
  seq = 0;
  position = 0;
  /** Inputs with a current entry. */
  private readonly live: EntryCursor[];
  private current: EntryCursor | undefined;

  constructor(inputs: EntryCursor[]) {
    this.live = inputs.filter((c) => c.next());
  }

  next(): boolean {
    const c = this.current;
    if (c && !c.next()) this.live.splice(this.live.indexOf(c), 1);
    let best: EntryCursor | undefined;
    for (const h of this.live) {
      if (!best || (compareEntry(h.hi, h.lo, h.seq, best.hi, best.lo, best.seq) || h.position - best.position) < 0) best = h;
    }
    this.current = best;
    if (!best) return false;
    ({ hi: this.hi, lo: this.lo, seq: this.seq, position: this.position } = best);
    return true;
  }
}
