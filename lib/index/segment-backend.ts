/**
 * What the index needs from an engine for segment files: open one for lookups, build one from
 * entries, merge several. The native backend runs builds and merges on the libuv pool
 * (native/index_segment_builder.cc); the JS backend does the same in TypeScript, in a worker thread
 * (js-segments.ts).
 * Both write and read the same files (lib/format/index-layout.ts).
 */
import type { SegmentHeader, SegmentKind } from '../format/index-layout.js';

export interface SegmentReader {
  readonly path: string;
  readonly header: Pick<SegmentHeader, 'kind' | 'fromPosition' | 'toPosition' | 'entryCount' | 'distinctKeys' | 'bloomBytes' | 'starts'>;
  /** False when the Bloom filter rules the key out (probed in JS for both engines). */
  mayContain(hi: number, lo: number): boolean;
  /** [seq, position] of the entry with this key and the largest seq. */
  findLast(hi: number, lo: number): [number, number] | undefined;
  /** Flat [seq, position, seq, position, …] for this key with fromSeq <= seq <= toSeq. */
  range(hi: number, lo: number, fromSeq: number, toSeq: number): Float64Array;
  /** Bytes of this segment copied into memory once read (its Bloom filter; the JS engine's
   * internal pages too): outside the memory budget, in proportion to the segment (stats()). */
  heapBytes(): number;
  close(): void;
}

/** A kind's segments, oldest first, searched in one step (the native backend crosses into C++ once
 * for all of them). Built over open readers; closed when the kind's chain changes. */
export interface SegmentChain {
  /** Pushes onto `out` the positions of the key's entries with fromSeq <= seq <= toSeq in the
   * newest of the chain's `count` oldest segments that has any; returns that segment's index, -1
   * when none has. Throws CorruptionError for a damaged page, as the segments' own lookups do. */
  newestPositions(hi: number, lo: number, fromSeq: number, toSeq: number, count: number, out: number[]): number;
  close(): void;
}

export interface SegmentEntries {
  hi: Uint32Array;
  lo: Uint32Array;
  seq: Uint32Array;
  position: Float64Array;
}

/** Zeroed arrays for `n` entries. */
export function newSegmentEntries(n: number): SegmentEntries {
  return { hi: new Uint32Array(n), lo: new Uint32Array(n), seq: new Uint32Array(n), position: new Float64Array(n) };
}

export interface SegmentSpec {
  kind: SegmentKind;
  fromPosition: number;
  toPosition: number;
}

export interface SegmentBackend {
  open(path: string): SegmentReader;
  /** Writes `dir/name` from unsorted entries: temporary file, sync, rename, directory sync. */
  build(dir: string, name: string, spec: SegmentSpec, entries: SegmentEntries): Promise<void>;
  merge(dir: string, name: string, spec: SegmentSpec, inputs: SegmentReader[]): Promise<void>;
  /** A chain over `readers` (this backend's, oldest first); absent where a loop in JS costs the
   * same (the JS backend's lookups make no crossing). */
  chain?(readers: SegmentReader[]): SegmentChain;
  /** Lets go of what builds hold between jobs (the JS backend's worker thread); the store is
   * closing and its jobs are done. */
  close?(): Promise<void>;
}
