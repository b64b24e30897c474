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
  /** The store identity (lib/format/event-id.ts; 0: a read-only log that has none yet). */
  identity: number;
  /** The first chunk whose header carries the identity: frames placed there or later may derive
   * their event ids from it; earlier chunks (of format version 1 or 2) never do. */
  identityChunk: number;
  /** Positions of damaged records the tail's recovery kept because valid records follow them (a
   * torn tail is cut; damage is not): refused when read, skipped and reported by the index. */
  damaged: number[];
}

/** What a read-only log found catching up with the writer (LogEngine.follow). */
export interface FollowReport {
  /** The end readers may see now. */
  endPosition: number;
  /** A damaged record's position below the writer's checkpoint (0: none). */
  damaged: number;
  /** Why the end stopped short of the checkpoint ('' when it did not). */
  error: string;
}

/** Frames read by a scan: back to back in `bytes`, ending before `next`. Without `positions` they
 * are contiguous in the log (each one's position is `next - bytes.length` plus its offset); a
 * scavenged chunk's frames may have removed events between them and come with their positions. */
export interface ScanBlock {
  bytes: Buffer;
  next: number;
  positions?: number[];
}

export interface LogEngine {
  readonly name: EngineName;
  /** Opens the chunk directory, finding the end of the log and cutting a torn tail (recovery).
   * `freshIdentity` becomes the store identity, written into the chunks created from now on,
   * when the tail chunk carries none. `durableFloor`: a position the log is known durable up to
   * (the index covers it); a writable open whose records end below it refuses with CORRUPTION and
   * changes nothing. */
  open(freshIdentity: number, durableFloor?: number): OpenReport;
  /**
   * Writes whole transactions, frames encoded with blank CRC and generation fields. `starts[i]` is
   * where transaction i must land, `ends[i]` its end offset in `buf`. All land in one chunk; the
   * first may open the next one. Throws with nothing written on a wrong placement or a failure to
   * create the chunk; when the write itself fails, what it left in the file is cut again before the
   * error is thrown, so a failed append never reappears.
   */
  append(buf: Uint8Array, starts: Float64Array, ends: Uint32Array): void;
  /** Makes everything appended so far durable, off the event loop. */
  flush(): Promise<void>;
  /** The frames at `positions`, verified and concatenated. The bytes may live in a buffer the
   * engine reuses: valid until its next readFrames call, so decode or copy them before that. */
  readFrames(positions: ArrayLike<number>): Buffer;
  /**
   * Whole frames from `from` (a frame position or a chunk's first data offset) while below `limit`,
   * up to about `maxBytes`, all from one chunk: they are the bytes that end at `next`. Stops before
   * a damaged frame; throws CorruptionError when the frame at `from` itself is damaged.
   */
  scan(from: number, limit: number, maxBytes: number): ScanBlock;
  /**
   * Where the log goes on after the damaged frame at `position` (a CorruptionError's `position`):
   * the next frame of its chunk that is valid on its own (record-scanner.ts findNextFrame), else
   * the next chunk's first position, else the end of the log. For salvaging reads and the index.
   */
  skipDamaged(position: number): number;
  /**
   * A read-only log catches up with the writer of its directory: moves its end to the position
   * the writer's checkpoint says is durable, once every frame up to there is checked, opening
   * the chunks created since (native/chunk_log_follow.cc, js-follow.ts).
   */
  follow(): FollowReport;
  /**
   * Drops what the engine holds open of sealed chunk `n` (its descriptor), after a scavenge
   * renamed a new file over it (scavenged-log.ts reads that chunk from then on), so the old file's
   * space is freed now rather than at close. Optional: an engine without it frees it at close.
   */
  forget?(n: number): void;
  endPosition(): number;
  chunkCount(): number;
  /** The store identity open() reported (0 before it, or when a read-only log has none). */
  identity(): number;
  close(): void;
}
