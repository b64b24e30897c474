/**
 * The contract both engines fulfil for the data log (chunk files in one directory). The native
 * engine is native/chunk_log.cc behind N-API; the JS engine is js-chunk-log.ts over `fs`. Both write
 * and read the same bytes (lib/format/layout.ts), so a store written by one opens in the other.
 *
 * Callers cross this boundary per batch: one append call per group of whole transactions, one
 * readFrames call per set of positions, one scan call per block of the global log.
 */
import type { EngineName } from '../types.js';

export interface OpenReport {
  endPosition: number;
  generation: number;
  chunkCount: number;
  torn: boolean;
  tornPosition: number;
  discardedBytes: number;
  tornReason: string;
}

export interface LogEngine {
  readonly name: EngineName;
  /** Opens the chunk directory, finding the end of the log and cutting a torn tail (recovery). */
  open(): OpenReport;
  /**
   * Writes whole transactions, frames encoded with blank CRC and generation fields. `starts[i]` is
   * where transaction i must land, `ends[i]` its end offset in `buf`. All land in one chunk; the
   * first may open the next one. Throws with nothing written on a wrong placement or a failure to
   * create the chunk.
   */
  append(buf: Uint8Array, starts: Float64Array, ends: Uint32Array): void;
  /** Makes everything appended so far durable, off the event loop. */
  flush(): Promise<void>;
  /** The frames at `positions`, verified and concatenated. The bytes may live in a buffer the
   * engine reuses: valid until its next readFrames call, so decode or copy them before that. */
  readFrames(positions: ArrayLike<number>): Buffer;
  /**
   * Whole frames from `from` (a frame position or a chunk's first data offset) while below `limit`,
   * up to about `maxBytes`, all from one chunk: they are the bytes that end at `next`.
   */
  scan(from: number, limit: number, maxBytes: number): { bytes: Buffer; next: number };
  endPosition(): number;
  chunkCount(): number;
  close(): void;
}
