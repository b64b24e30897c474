/** The native engine's segment backend: thin adapters over the addon's NativeSegment and builders. */
import { toAnnalsError } from '../errors.js';
import { bloomMayContain } from '../format/index-layout.js';
import type { NativeAddon, NativeSegmentChainHandle, NativeSegmentHandle } from '../native.js';
import type { SegmentBackend, SegmentChain, SegmentEntries, SegmentReader, SegmentSpec } from './segment-backend.js';

const NONE = new Float64Array(0);
/**
 * Every segment's lookup block: [hi, lo, fromSeq, toSeq] in, the answer's [seq, position] pairs
 * after them (shared: lookups run one at a time on the event loop). A lookup that passes its
 * arguments this way costs the addon no argument conversion, ~110 ns of a ~175 ns call.
 */
const BLOCK_ARGS = 4;
/** Room for a stream's entries in one segment in most stream reads (the e2e bench's are ~33). */
const block = new Float64Array(BLOCK_ARGS + 2 * 256);
/** Where the addon writes answers too long for the block. */
let answer = new Float64Array(1024);

class NativeSegmentReader implements SegmentReader {
  readonly header: SegmentReader['header'];
  constructor(
    readonly path: string,
    readonly handle: NativeSegmentHandle,
  ) {
    this.header = handle.header();
  }
  private bloom: Buffer | undefined;

  /** Probed in JS, a miss costing no native call, on a Buffer over the segment's mapping taken at
   * the first probe (no heap copy; it keeps the mapping alive after close(): index_binding.cc). */
  mayContain(hi: number, lo: number): boolean {
    this.bloom ??= wrap(() => this.handle.bloomBits());
    return bloomMayContain(this.bloom, hi, lo);
  }
  /** Nothing on the heap: the filter's pages are the file's (the page cache's), not anonymous. */
  heapBytes(): number {
    return 0;
  }
  findLast(hi: number, lo: number): [number, number] | undefined {
    block[0] = hi;
    block[1] = lo;
    let n: number;
    try {
      n = this.handle.findLastInBlock();
    } catch (err) {
      throw toAnnalsError(err);
    }
    return n === 0 ? undefined : [block[BLOCK_ARGS] as number, block[BLOCK_ARGS + 1] as number];
  }
  /** Through the block; an answer too long for it, into the shared `answer` array, grown once if
   * the answer is longer still. Returns a copy. */
  range(hi: number, lo: number, fromSeq: number, toSeq: number): Float64Array {
    // try/catch in place of wrap(): no closure per call (this runs per segment per lookup).
    try {
      block[0] = hi;
      block[1] = lo;
      block[2] = fromSeq;
      block[3] = toSeq;
      let n = this.handle.rangeInBlock();
      if (n === 0) return NONE;
      if (n <= block.length - BLOCK_ARGS) return block.slice(BLOCK_ARGS, BLOCK_ARGS + n);
      n = this.handle.range(hi, lo, fromSeq, toSeq, answer);
      if (n > answer.length) {
        answer = new Float64Array(n * 2);
        n = this.handle.range(hi, lo, fromSeq, toSeq, answer);
      }
      return answer.slice(0, n);
    } catch (err) {
      throw toAnnalsError(err);
    }
  }
  close(): void {
    this.handle.close();
  }
}

/** The chains' block (shared, as the segments' is): [hi, lo, fromSeq, toSeq, count], then the answer. */
const CHAIN_ARGS = 5;
const chainBlock = new Float64Array(CHAIN_ARGS + 2 * 256);

class NativeSegmentChain implements SegmentChain {
  private readonly handle: NativeSegmentChainHandle;
  constructor(
    addon: NativeAddon,
    private readonly readers: NativeSegmentReader[],
  ) {
    this.handle = wrap(
      () =>
        new addon.NativeSegmentChain(
          readers.map((r) => r.handle),
          chainBlock,
        ),
    );
  }
  /** Read straight out of the block: no copy of the answer. */
  newestPositions(hi: number, lo: number, fromSeq: number, toSeq: number, count: number, out: number[]): number {
    let n: number;
    try {
      chainBlock[0] = hi;
      chainBlock[1] = lo;
      chainBlock[2] = fromSeq;
      chainBlock[3] = toSeq;
      chainBlock[4] = count;
      n = this.handle.newestInBlock();
    } catch (err) {
      throw toAnnalsError(err);
    }
    const hit = chainBlock[4] as number;
    if (n <= chainBlock.length - CHAIN_ARGS) {
      for (let k = CHAIN_ARGS + 1; k < CHAIN_ARGS + n; k += 2) out.push(chainBlock[k] as number);
      return hit;
    }
    // Longer than the block: the segment that answered, through its own lookup.
    const all = (this.readers[hit] as NativeSegmentReader).range(hi, lo, fromSeq, toSeq);
    for (let k = 1; k < all.length; k += 2) out.push(all[k] as number);
    return hit;
  }
  close(): void {
    this.handle.close();
  }
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toAnnalsError(err);
  }
}

export class NativeSegmentBackend implements SegmentBackend {
  constructor(private readonly addon: NativeAddon) {}

  open(path: string): SegmentReader {
    return new NativeSegmentReader(
      path,
      wrap(() => new this.addon.NativeSegment(path, block)),
    );
  }

  chain(readers: SegmentReader[]): SegmentChain {
    return new NativeSegmentChain(this.addon, readers as NativeSegmentReader[]);
  }

  async build(dir: string, name: string, spec: SegmentSpec, e: SegmentEntries): Promise<void> {
    try {
      await this.addon.buildSegment(dir, name, spec.kind, spec.fromPosition, spec.toPosition, e.hi, e.lo, e.seq, e.position);
    } catch (err) {
      throw toAnnalsError(err);
    }
  }

  async merge(dir: string, name: string, spec: SegmentSpec, inputs: SegmentReader[]): Promise<void> {
    const handles = inputs.map((s) => (s as NativeSegmentReader).handle);
    try {
      await this.addon.mergeSegments(dir, name, spec.kind, spec.fromPosition, spec.toPosition, handles);
    } catch (err) {
      throw toAnnalsError(err);
    }
  }
}
