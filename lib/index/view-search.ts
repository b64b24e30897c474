/**
 * Pages of a read model: the positions of one category's or one type's events after a position,
 * in either direction, from the segments and memtables of that kind. The sources cover disjoint
 * log ranges in order (segments oldest first, then the frozen memtables, then the active one), so a
 * page walks them in position order and stops once it has enough: its cost follows the events it
 * returns, not the size of the log.
 *
 * Inside a segment a key's entries sort by position (their seq is the position's 64 KiB bucket),
 * and the tree is asked for bucket windows that double in size from the page's starting point: a
 * dense key is served from the first window or two, a sparse one in about log2(buckets) asks, and
 * a segment whose Bloom filter rules the key out costs nothing.
 */
import { type ViewKind, viewSeq } from '../format/index-layout.js';
import type { Key } from '../format/key-hash.js';
import type { Memtable } from './memtable.js';
import type { SegmentCatalog, SegmentSlot } from './segment-catalog.js';
import type { SegmentSearch } from './segment-search.js';

export interface ViewPage {
  kind: ViewKind;
  name: string;
  key: Key;
  /** Forward: positions above this; backward: below it. */
  after: number;
  backward: boolean;
  /** Candidates wanted at most. */
  max: number;
}

export class ViewSearch {
  constructor(
    private readonly catalog: SegmentCatalog,
    private readonly segments: SegmentSearch,
    /** The memtables, oldest first (frozen ones, then the active one). */
    private readonly memtables: () => Memtable[],
  ) {}

  /** Candidate positions (keys may collide: check the records), in the page's direction. */
  positions(q: ViewPage): number[] {
    const out: number[] = [];
    const slots = this.catalog.of(q.kind);
    const memtables = this.memtables();
    if (!q.backward) {
      for (const slot of slots) if (slot.to > q.after && out.length < q.max) this.fromSlot(slot, q, out);
      for (const m of memtables) if (m.toPosition > q.after && out.length < q.max) fromMemtable(m, q, out);
    } else {
      for (let i = memtables.length - 1; i >= 0 && out.length < q.max; i--) {
        const m = memtables[i] as Memtable;
        if (m.fromPosition < q.after) fromMemtable(m, q, out);
      }
      for (let i = slots.length - 1; i >= 0 && out.length < q.max; i--) {
        const slot = slots[i] as SegmentSlot;
        if (slot.from < q.after) this.fromSlot(slot, q, out);
      }
    }
    return out;
  }

  private fromSlot(slot: SegmentSlot, q: ViewPage, out: number[]): void {
    const first = viewSeq(q.backward ? slot.from : Math.max(slot.from, q.after + 1));
    const last = viewSeq(q.backward ? Math.min(slot.to, q.after) - 1 : slot.to - 1);
    if (slot.broken) {
      // Answered from the log (a scan of the slot's range): once, not window by window.
      take(this.segments.range(slot, q.key, q.name, first, last), q, out);
      return;
    }
    for (let width = 1, done = 0; done <= last - first && out.length < q.max; done += width, width *= 2) {
      const from = q.backward ? Math.max(first, last - done - width + 1) : first + done;
      const to = q.backward ? last - done : Math.min(last, first + done + width - 1);
      take(this.segments.range(slot, q.key, q.name, from, to), q, out);
    }
  }
}

/** Appends the positions of [seq, position] pairs (ascending) that lie beyond q.after. */
function take(hits: Float64Array, q: ViewPage, out: number[]): void {
  if (!q.backward) {
    for (let k = 1; k < hits.length && out.length < q.max; k += 2) if ((hits[k] as number) > q.after) out.push(hits[k] as number);
  } else {
    for (let k = hits.length - 1; k > 0 && out.length < q.max; k -= 2) if ((hits[k] as number) < q.after) out.push(hits[k] as number);
  }
}

function fromMemtable(m: Memtable, q: ViewPage, out: number[]): void {
  const views = m.viewsOf(q.kind);
  const list = views.list(q.key);
  if (list < 0) return;
  const n = views.size(list);
  // The first index past q.after (forward) or the last below it (backward), by binary search.
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (q.backward ? views.at(list, mid) < q.after : views.at(list, mid) <= q.after) lo = mid + 1;
    else hi = mid;
  }
  if (!q.backward) for (let i = lo; i < n && out.length < q.max; i++) out.push(views.at(list, i));
  else for (let i = lo - 1; i >= 0 && out.length < q.max; i--) out.push(views.at(list, i));
}
