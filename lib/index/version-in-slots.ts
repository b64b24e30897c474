/**
 * The segment part of a point lookup (StoreIndex.findVersion): offers the candidate positions of
 * one version of a stream from the stream segments, in the order the version most likely is in,
 * until `accept` takes one.
 */
import { keyOf } from '../format/key-hash.js';
import type { SegmentSlot } from './segment-catalog.js';
import type { SegmentSearch } from './segment-search.js';

export interface VersionQuery {
  streamId: string;
  version: number;
  /** The stream's latest version and its position, when the dictionary knows them. */
  latest: { version: number; position: number } | undefined;
  /** The position of the stream's newest event: slots starting after it cannot hold the stream. */
  newest: number;
}

export function versionInSlots(
  slots: readonly SegmentSlot[],
  segments: SegmentSearch,
  q: VersionQuery,
  accept: (position: number) => boolean,
): void {
  const { streamId, version, latest, newest } = q;
  const key = keyOf(streamId);
  // Every slot is asked in the end (a key may collide), but starting where the version most
  // likely is, then outwards, saves descents: a stream's versions grow with position, so guess
  // as if its events were spread evenly from the log's start to its newest event. A wrong guess
  // costs order only.
  const n = slots.length;
  let start = n - 1;
  if (n > 1 && latest && version < latest.version) {
    const guess = (latest.position * version) / latest.version;
    while (start > 0 && (slots[start] as SegmentSlot).from > guess) start--;
  }
  for (let d = 0; d < 2 * n; d++) {
    // start, start + 1, start - 1, start + 2, ...
    const i = d % 2 === 0 ? start - d / 2 : start + (d + 1) / 2;
    if (i < 0 || i >= n || (slots[i] as SegmentSlot).from > newest) continue;
    const hits = segments.range(slots[i] as SegmentSlot, key, streamId, version, version);
    for (let k = 1; k < hits.length; k += 2) if (accept(hits[k] as number)) return;
  }
}
