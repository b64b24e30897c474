/**
 * The log both engines are used through: positions in scavenged chunks (lib/format/scavenged-chunk.ts)
 * are read here, through their position maps, in TypeScript for both engines; every other position
 * goes to the engine. Both engines see a scavenged chunk as a sealed empty one (its footer says so)
 * and never read it themselves, so the two behave identically over it.
 *
 * A read-only store (which may be open beside a writer that scavenges) reads every chunk sealed at
 * its open here too (sealed-chunk-file.ts), from descriptors it holds, each file's layout read from
 * the footer found when it opened it: both engines remap a sealed chunk by its name and would read
 * a file swapped meanwhile with the layout of the one before.
 *
 * Invariants: the engine is only asked for positions of chunks that are not scavenged, and its scans
 * are bounded to one such chunk (so it never walks into a scavenged one, whose bytes it may still
 * see as they were before the swap through an old mapping or descriptor). A chunk is adopted
 * (`adopt`) in the same synchronous step as the rename that put it in place, so no read sees the
 * swap half done; a reader that was given bytes of the old file keeps them.
 */
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import type { Key } from '../format/key-hash.js';
import { CHUNK_HEADER_SIZE, chunkFileName } from '../format/layout.js';
import type { FollowReport, LogEngine, OpenReport, ScanBlock } from './log-engine.js';
import { type FrameMap, ScavengedChunkFile } from './scavenged-chunk-file.js';
import { SealedChunkFile } from './sealed-chunk-file.js';

/** Sealed chunks a read-only store holds open at once (least recently read closed first). */
const MAX_HELD_CHUNKS = 32;

type ChunkReader = ScavengedChunkFile | SealedChunkFile;

export class ScavengeAwareLog implements LogEngine {
  readonly name;
  private readonly scavenged = new Map<number, ScavengedChunkFile>();
  /** Read-only: chunks read here, most recently read last. */
  private readonly held = new Map<number, ChunkReader>();
  /** Chunks below this were sealed when the store opened or (a follower) caught up past them. */
  private sealedSeen = 0;

  constructor(
    readonly inner: LogEngine,
    readonly dir: string,
    readonly chunkSize: number,
    private readonly readOnly = false,
  ) {
    this.name = inner.name;
  }

  open(freshIdentity: number, durableFloor?: number): OpenReport {
    const report = this.inner.open(freshIdentity, durableFloor);
    this.sealedSeen = Math.max(0, report.chunkCount - 1);
    if (this.readOnly) return report;
    try {
      // The tail is never scavenged: only chunks before it are looked at.
      for (let n = 0; n + 1 < report.chunkCount; n++) this.load(n);
    } catch (err) {
      this.close();
      throw err;
    }
    return report;
  }

  /** Reads chunk `n`'s file again: after a scavenge renamed a new one into place. */
  adopt(n: number, frames?: FrameMap): ScavengedChunkFile | undefined {
    const file = this.load(n, frames);
    // The engine never reads chunk n again: what it holds of the old file is let go.
    if (file) this.inner.forget?.(n);
    return file;
  }

  /** Before a scavenge renames a new file over sealed chunk `n`: what the engine and this log hold
   * of the old one is let go (reopened by name if it is read again before the adoption). */
  releaseOld(n: number): void {
    this.inner.forget?.(n);
  }

  private load(n: number, frames?: FrameMap): ScavengedChunkFile | undefined {
    const file = ScavengedChunkFile.tryOpen(path.join(this.dir, chunkFileName(n)), n, this.chunkSize, frames);
    const old = this.scavenged.get(n);
    if (file) this.scavenged.set(n, file);
    else this.scavenged.delete(n);
    old?.close();
    return file;
  }

  /** The reader of chunk `n` when it is read here, not by the engine. */
  private readerOf(n: number): ChunkReader | undefined {
    const s = this.scavenged.get(n);
    if (s || !this.readOnly || n >= this.sealedSeen) return s;
    let r = this.held.get(n);
    if (r) {
      this.held.delete(n);
      this.held.set(n, r);
      return r;
    }
    const file = path.join(this.dir, chunkFileName(n));
    r = ScavengedChunkFile.tryOpen(file, n, this.chunkSize) ?? SealedChunkFile.open(file, n, this.chunkSize);
    if (!r) return undefined;
    this.held.set(n, r);
    for (const [k, v] of this.held) {
      if (this.held.size <= MAX_HELD_CHUNKS) break;
      v.close();
      this.held.delete(k);
    }
    return r;
  }

  /** The scavenged chunk `n`, if it is one. */
  scavengedChunk(n: number): ScavengedChunkFile | undefined {
    return this.scavenged.get(n);
  }

  /** Whether any chunk is scavenged (when none, reads pass straight to the engine). */
  get anyScavenged(): boolean {
    return this.scavenged.size > 0 || (this.readOnly && this.sealedSeen > 0);
  }

  /** Whether no chunk is read here (every read goes to the engine). */
  private get allInEngine(): boolean {
    return this.scavenged.size === 0 && !(this.readOnly && this.sealedSeen > 0);
  }

  /** Whether `position` lies in a scavenged chunk where no surviving event starts: an event a
   * scavenge removed (index entries may still name it: reads drop them). */
  /** The erased commands scavenged chunks keep (scavenged-chunk.ts version 2) at positions in
   * [from, to), ascending: what an index rebuilt from the log adds as command entries. */
  *erasedCommandsIn(from: number, to: number): Generator<{ position: number; key: Key }> {
    if (this.allInEngine) return;
    const last = Math.min(Math.ceil(to / this.chunkSize), this.chunkCount() - 1);
    for (let n = Math.floor(from / this.chunkSize); n < last; n++) {
      const c = this.readerOf(n);
      if (!(c instanceof ScavengedChunkFile)) continue;
      const { logical, hi, lo } = c.erased;
      for (let i = 0; i < logical.length; i++) {
        const position = n * this.chunkSize + (logical[i] as number);
        if (position >= from && position < to) yield { position, key: { hi: hi[i] as number, lo: lo[i] as number } };
      }
    }
  }

  removedAt(position: number): boolean {
    if (this.allInEngine) return false;
    const c = this.readerOf(Math.floor(position / this.chunkSize));
    return c instanceof ScavengedChunkFile && c.indexOf(position % this.chunkSize) < 0;
  }

  readFrames(positions: ArrayLike<number>): Buffer {
    if (this.allInEngine) return this.inner.readFrames(positions);
    let mixed = false;
    for (let i = 0; i < positions.length && !mixed; i++)
      mixed = this.readerOf(Math.floor((positions[i] as number) / this.chunkSize)) !== undefined;
    if (!mixed) return this.inner.readFrames(positions);
    const frames: Buffer[] = [];
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i] as number;
      const c = this.readerOf(Math.floor(p / this.chunkSize));
      // The engine's buffer is reused by its next call: copied.
      frames.push(c ? c.frameAt(p % this.chunkSize, p) : Buffer.from(this.inner.readFrames([p])));
    }
    return Buffer.concat(frames);
  }

  scan(from: number, limit: number, maxBytes: number): ScanBlock {
    let position = from;
    const count = this.inner.chunkCount();
    while (position < limit) {
      const n = Math.floor(position / this.chunkSize);
      const chunkEnd = (n + 1) * this.chunkSize;
      const c = this.readerOf(n);
      if (!c) {
        if (this.allInEngine) return this.inner.scan(position, limit, maxBytes);
        const block = this.inner.scan(position, Math.min(limit, chunkEnd), maxBytes);
        if (block.bytes.length > 0 || n + 1 >= count) return block;
      } else {
        const offset = Math.max(position % this.chunkSize, CHUNK_HEADER_SIZE);
        const run = c.run(offset, Math.min(c.logicalEnd, limit - n * this.chunkSize), maxBytes);
        if (run) return this.blockOf(n, run);
        if (n + 1 >= count) return { bytes: Buffer.alloc(0), next: position };
      }
      position = chunkEnd + CHUNK_HEADER_SIZE;
    }
    return { bytes: Buffer.alloc(0), next: position };
  }

  private blockOf(n: number, run: { bytes: Buffer; start: number } | { bytes: Buffer; offsets: number[]; end: number }): ScanBlock {
    const base = n * this.chunkSize;
    if ('start' in run) return { bytes: run.bytes, next: base + run.start + run.bytes.length };
    return { bytes: run.bytes, next: base + run.end, positions: run.offsets.map((o) => base + o) };
  }

  skipDamaged(position: number): number {
    const n = Math.floor(position / this.chunkSize);
    const c = this.readerOf(n);
    if (!c) return this.inner.skipDamaged(position);
    if (c instanceof SealedChunkFile) {
      const next = c.nextAfterDamage(position % this.chunkSize);
      if (next < c.logicalEnd) return n * this.chunkSize + next;
    } else {
      const i = c.lowerBound((position % this.chunkSize) + 1);
      if (i < c.survivors) return n * this.chunkSize + (c.map.logical[i] as number);
    }
    return n + 1 < this.inner.chunkCount() ? (n + 1) * this.chunkSize + CHUNK_HEADER_SIZE : this.inner.endPosition();
  }

  append(buf: Uint8Array, starts: Float64Array, ends: Uint32Array): void {
    this.inner.append(buf, starts, ends);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  /** A follower's catch-up (follower.ts): chunks the writer sealed since are read here from now
   * on, like those sealed at open, so a scavenge swapping one is never read with the old layout. */
  follow(): FollowReport {
    const report = this.inner.follow();
    if (this.readOnly) this.sealedSeen = Math.max(this.sealedSeen, this.inner.chunkCount() - 1);
    return report;
  }

  endPosition(): number {
    return this.inner.endPosition();
  }
  chunkCount(): number {
    return this.inner.chunkCount();
  }
  identity(): number {
    return this.inner.identity();
  }
  close(): void {
    for (const c of this.scavenged.values()) c.close();
    this.scavenged.clear();
    for (const c of this.held.values()) c.close();
    this.held.clear();
    this.inner.close();
  }
}

/** Positions that are not events a scavenge removed (all of them when nothing is scavenged). */
export function withoutRemoved(engine: LogEngine, positions: number[]): number[] {
  if (!(engine instanceof ScavengeAwareLog) || !engine.anyScavenged) return positions;
  return positions.filter((p) => !engine.removedAt(p));
}

/** Refuses a position that is no event's, as an engine would, for a caller that asks for one. */
export function noRecordAt(position: number): InvalidArgumentError {
  return new InvalidArgumentError(`no record at position ${position}`);
}
