/**
 * The log both engines are used through: positions in scavenged chunks (lib/format/scavenged-chunk.ts)
 * are read here, through their position maps, in TypeScript for both engines; every other position
 * goes to the engine. Both engines see a scavenged chunk as a sealed empty one (its footer says so)
 * and never read it themselves, so the two behave identically over it.
 *
 * Invariants: the engine is only asked for positions of chunks that are not scavenged, and its scans
 * are bounded to one such chunk (so it never walks into a scavenged one, whose bytes it may still
 * see as they were before the swap through an old mapping or descriptor). A chunk is adopted
 * (`adopt`) in the same synchronous step as the rename that put it in place, so no read sees the
 * swap half done; a reader that was given bytes of the old file keeps them.
 */
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { CHUNK_HEADER_SIZE, chunkFileName } from '../format/layout.js';
import type { LogEngine, OpenReport } from './log-engine.js';
import { ScavengedChunkFile } from './scavenged-chunk-file.js';

export class ScavengeAwareLog implements LogEngine {
  readonly name;
  private readonly scavenged = new Map<number, ScavengedChunkFile>();

  constructor(
    readonly inner: LogEngine,
    readonly dir: string,
    readonly chunkSize: number,
  ) {
    this.name = inner.name;
  }

  open(freshIdentity: number, durableFloor?: number): OpenReport {
    const report = this.inner.open(freshIdentity, durableFloor);
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
  adopt(n: number): ScavengedChunkFile | undefined {
    return this.load(n);
  }

  private load(n: number): ScavengedChunkFile | undefined {
    const file = ScavengedChunkFile.tryOpen(path.join(this.dir, chunkFileName(n)), n, this.chunkSize);
    const old = this.scavenged.get(n);
    if (file) this.scavenged.set(n, file);
    else this.scavenged.delete(n);
    old?.close();
    return file;
  }

  /** The scavenged chunk `n`, if it is one. */
  scavengedChunk(n: number): ScavengedChunkFile | undefined {
    return this.scavenged.get(n);
  }

  /** Whether any chunk is scavenged (when none, reads pass straight to the engine). */
  get anyScavenged(): boolean {
    return this.scavenged.size > 0;
  }

  /** Whether `position` lies in a scavenged chunk where no surviving event starts: an event a
   * scavenge removed (index entries may still name it: reads drop them). */
  removedAt(position: number): boolean {
    if (this.scavenged.size === 0) return false;
    const c = this.scavenged.get(Math.floor(position / this.chunkSize));
    return c !== undefined && c.indexOf(position % this.chunkSize) < 0;
  }

  readFrames(positions: ArrayLike<number>): Buffer {
    if (this.scavenged.size === 0) return this.inner.readFrames(positions);
    let mixed = false;
    for (let i = 0; i < positions.length && !mixed; i++) mixed = this.scavenged.has(Math.floor((positions[i] as number) / this.chunkSize));
    if (!mixed) return this.inner.readFrames(positions);
    const frames: Buffer[] = [];
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i] as number;
      const c = this.scavenged.get(Math.floor(p / this.chunkSize));
      // The engine's buffer is reused by its next call: copied.
      frames.push(c ? c.frameAt(p % this.chunkSize, p) : Buffer.from(this.inner.readFrames([p])));
    }
    return Buffer.concat(frames);
  }

  scan(from: number, limit: number, maxBytes: number): { bytes: Buffer; next: number } {
    let position = from;
    const count = this.inner.chunkCount();
    while (position < limit) {
      const n = Math.floor(position / this.chunkSize);
      const chunkEnd = (n + 1) * this.chunkSize;
      const c = this.scavenged.get(n);
      if (!c) {
        if (this.scavenged.size === 0) return this.inner.scan(position, limit, maxBytes);
        const block = this.inner.scan(position, Math.min(limit, chunkEnd), maxBytes);
        if (block.bytes.length > 0 || n + 1 >= count) return block;
      } else {
        const offset = Math.max(position % this.chunkSize, CHUNK_HEADER_SIZE);
        const run = c.run(offset, Math.min(c.logicalEnd, limit - n * this.chunkSize), maxBytes);
        if (run) return { bytes: run.bytes, next: n * this.chunkSize + run.start + run.bytes.length };
        if (n + 1 >= count) return { bytes: Buffer.alloc(0), next: position };
      }
      position = chunkEnd + CHUNK_HEADER_SIZE;
    }
    return { bytes: Buffer.alloc(0), next: position };
  }

  skipDamaged(position: number): number {
    const n = Math.floor(position / this.chunkSize);
    const c = this.scavenged.get(n);
    if (!c) return this.inner.skipDamaged(position);
    const i = c.lowerBound((position % this.chunkSize) + 1);
    if (i < c.survivors) return n * this.chunkSize + (c.map.logical[i] as number);
    return n + 1 < this.inner.chunkCount() ? (n + 1) * this.chunkSize + CHUNK_HEADER_SIZE : this.inner.endPosition();
  }

  append(buf: Uint8Array, starts: Float64Array, ends: Uint32Array): void {
    this.inner.append(buf, starts, ends);
  }
  flush(): Promise<void> {
    return this.inner.flush();
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
