/**
 * The JS engine's data log: the same chunk files, frames and recovery as native/chunk_log.cc (read
 * that file's header for the rules), in TypeScript over `fs`. It is the fallback where the addon
 * cannot load and the baseline the benchmarks compare the native engine against.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnnalsError, InvalidArgumentError, ReadOnlyError, StoreClosedError, toAnnalsError } from '../errors.js';
import { crc32c } from '../format/crc32c.js';
import {
  CHECKPOINT_FILE,
  CHECKPOINT_SIZE,
  CHUNK_HEADER_SIZE,
  type Checkpoint,
  dataCapacityEnd,
  decodeCheckpoint,
  encodeCheckpoint,
  FRAME_FLAG_COMMIT,
  FRAME_HEADER_SIZE,
  MIN_CHUNK_SIZE,
  storeIdentityValid,
} from '../format/layout.js';
import { chainFrameChecksum } from '../format/record-scanner.js';
import { FlushPoller } from './flush-poller.js';
import { JsChunkFile, openChunkFiles, readExactly, writeFully, ZERO_AHEAD_BYTES } from './js-chunk-file.js';
import { JsChunkReads } from './js-chunk-reads.js';
import { type FollowedLog, followWriter } from './js-follow.js';
import { recoverTail, sealHolds } from './js-tail-recovery.js';
import type { FollowReport, LogEngine, OpenReport } from './log-engine.js';

export class JsChunkLog implements LogEngine {
  readonly name = 'js' as const;
  // Read by JsChunkReads (ReadableLog) as plain fields: the reads run per frame.
  chunks: JsChunkFile[] = [];
  private checkpointFd = -1;
  private generation = 0;
  private storeIdentity = 0;
  writeOffset = 0;
  private flushedOffset = 0;
  /** Bytes of the tail chunk below this are written: data or our zeroes. */
  private zeroedEnd = 0;
  private recordCount = 0;
  private dataChecksum = 0;
  isOpen = false;
  /** Set when a failed write could not be undone: every later append fails with it. */
  private failure: string | undefined;
  private readonly reads = new JsChunkReads(this);
  /** A chunk whose fdatasync is in flight keeps its descriptor. */
  syncing: JsChunkFile | undefined;

  /** Flushes started and not finished, for the poller: the turns it keeps going let libuv see
   * the pool's completions at once. */
  private flushesPending = 0;
  private readonly poller: FlushPoller;

  /** `pollMs`: the flushPollMicros option, in ms (flush-poller.ts). */
  constructor(
    private readonly dir: string,
    readonly chunkSize: number,
    private readonly readOnly: boolean,
    pollMs = 0,
  ) {
    this.poller = new FlushPoller(pollMs, () => this.flushesPending);
    if (chunkSize < MIN_CHUNK_SIZE || chunkSize % 4096 !== 0) {
      throw new InvalidArgumentError('chunkSize must be a multiple of 4096 and >= 1 MiB');
    }
  }

  open(freshIdentity: number, durableFloor = 0): OpenReport {
    if (!this.readOnly && !storeIdentityValid(freshIdentity)) {
      throw new InvalidArgumentError('store identity out of range');
    }
    try {
      return this.recover(freshIdentity, durableFloor);
    } catch (err) {
      for (const c of this.chunks) c.close();
      this.chunks = [];
      throw toAnnalsError(err);
    }
  }

  /** Opens the checkpoint file (creating it when writable) and reads it; zeros when there is none. */
  private openCheckpoint(): Checkpoint {
    const cpPath = path.join(this.dir, CHECKPOINT_FILE);
    const cpExists = fs.existsSync(cpPath);
    if (!this.readOnly || cpExists) this.checkpointFd = fs.openSync(cpPath, this.readOnly ? 'r' : cpExists ? 'r+' : 'w+');
    const raw = this.checkpointFd >= 0 ? readExactly(this.checkpointFd, CHECKPOINT_SIZE, 0) : undefined;
    return (raw && decodeCheckpoint(raw)) ?? { durableEnd: 0, generation: 0, tailRecords: 0, tailChecksum: 0 };
  }

  private recover(freshIdentity: number, durableFloor: number): OpenReport {
    const report: OpenReport = {
      endPosition: 0,
      generation: 0,
      chunkCount: 0,
      torn: false,
      tornPosition: 0,
      discardedBytes: 0,
      tornReason: '',
      identity: 0,
      identityChunk: 0,
      damaged: [],
    };
    this.chunks.push(...openChunkFiles(this.dir, this.chunkSize, this.readOnly));
    const cp = this.openCheckpoint();
    const tail = this.chunks[this.chunks.length - 1];
    // Every chunk created since the first one with an identity copies it: the tail's is the store's.
    if (tail && tail.identity !== 0) {
      this.storeIdentity = tail.identity;
      report.identityChunk = tail.number;
    } else {
      this.storeIdentity = this.readOnly ? 0 : freshIdentity;
      report.identityChunk = this.chunks.length;
    }
    report.identity = this.storeIdentity;
    let lastGeneration = cp.generation;
    // A footer the last chunk's data does not bear out is a seal a power cut interrupted.
    const unbackedFooter = tail?.sealed === true && !sealHolds(tail, this.chunkSize, cp);
    if (tail && unbackedFooter) tail.unseal();
    if (!tail || tail.sealed) {
      this.writeOffset = tail?.footer?.dataEnd ?? 0;
    } else {
      const floor = durableFloor - tail.number * this.chunkSize;
      const t = recoverTail(tail, this.chunkSize, cp, this.readOnly, floor, unbackedFooter);
      if (t.torn) {
        report.torn = true;
        report.tornPosition = tail.number * this.chunkSize + t.torn.offset;
        report.discardedBytes = t.torn.discardedBytes;
        report.tornReason = t.torn.reason;
      }
      report.damaged = t.damaged.map((d) => tail.number * this.chunkSize + d);
      this.writeOffset = t.writeOffset;
      this.recordCount = t.recordCount;
      this.dataChecksum = t.dataChecksum;
      lastGeneration = Math.max(lastGeneration, t.lastGeneration);
      // What recovery accepted may be a killed process's writes still in the page cache: durable
      // before the new session's checkpoint says so.
      if (!this.readOnly) fs.fdatasyncSync(tail.fd);
    }
    this.flushedOffset = this.writeOffset;
    this.zeroedEnd = this.writeOffset;
    this.generation = lastGeneration + 1;
    this.isOpen = true;
    // A new store gets its first chunk now, not at its first append: a read-only follower that
    // opens beside the writer learns the chunk size from chunk 0's header.
    if (!this.readOnly && this.chunks.length === 0) this.rollOver();
    if (!this.readOnly) this.writeCheckpoint(this.endPosition(), true);
    report.endPosition = this.endPosition();
    report.generation = this.generation;
    report.chunkCount = this.chunks.length;
    return report;
  }

  identity(): number {
    return this.storeIdentity;
  }

  follow(): FollowReport {
    if (!this.isOpen) throw new StoreClosedError();
    if (!this.readOnly) throw new InvalidArgumentError('only a read-only log follows');
    // The follower moves this log's own tail state (its chunks and the tail's end of data).
    const self = this;
    const log: FollowedLog = {
      dir: this.dir,
      chunkSize: this.chunkSize,
      chunks: this.chunks,
      get writeOffset() {
        return self.writeOffset;
      },
      set writeOffset(offset: number) {
        self.writeOffset = offset;
      },
      endPosition: () => this.endPosition(),
    };
    return followWriter(log);
  }

  endPosition(): number {
    const last = this.chunks[this.chunks.length - 1];
    if (!last) return CHUNK_HEADER_SIZE;
    if (last.sealed) return (last.number + 1) * this.chunkSize + CHUNK_HEADER_SIZE;
    return last.number * this.chunkSize + this.writeOffset;
  }

  chunkCount(): number {
    return this.chunks.length;
  }

  append(buf: Uint8Array, starts: Float64Array, ends: Uint32Array): void {
    if (!this.isOpen) throw new StoreClosedError();
    if (this.readOnly) throw new ReadOnlyError();
    if (this.failure) throw new AnnalsError('IO', this.failure);
    const count = ends.length;
    if (count === 0) return;
    const first = starts[0] as number;
    const nextChunk = this.chunks.length === 0 ? 0 : (this.chunks[this.chunks.length - 1] as JsChunkFile).number + 1;
    const roll = first === nextChunk * this.chunkSize + CHUNK_HEADER_SIZE;
    if (first !== this.endPosition() && !roll) {
      throw new InvalidArgumentError('append placement does not match the end of the log');
    }
    const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    let prevEnd = 0;
    for (let i = 0; i < count; i++) {
      const end = ends[i] as number;
      if (end <= prevEnd || end > view.length || starts[i] !== first + prevEnd) {
        throw new InvalidArgumentError('append transactions are not contiguous');
      }
      let f = prevEnd;
      let committed = false;
      while (f < end) {
        const len = end - f >= FRAME_HEADER_SIZE ? view.readUInt32LE(f) : 0;
        if (len < FRAME_HEADER_SIZE || len > end - f) throw new InvalidArgumentError('malformed frame in append batch');
        committed = ((view[f + 9] as number) & FRAME_FLAG_COMMIT) !== 0;
        if (committed && f + len !== end) throw new InvalidArgumentError('COMMIT flag before the end of a transaction');
        f += len;
      }
      if (!committed) throw new InvalidArgumentError('transaction without a COMMIT frame');
      prevEnd = end;
    }
    const offset = roll ? CHUNK_HEADER_SIZE : this.writeOffset;
    if (offset + prevEnd > dataCapacityEnd(this.chunkSize)) {
      throw new InvalidArgumentError('append batch does not fit in the chunk');
    }
    if (roll) this.rollOver();
    let checksum = this.dataChecksum;
    let records = this.recordCount;
    for (let f = 0; f < prevEnd; ) {
      const len = view.readUInt32LE(f);
      view.writeUInt32LE(this.generation, f + 12);
      view.writeUInt32LE(crc32c(view, 0, f + 8, f + len), f + 4);
      checksum = chainFrameChecksum(checksum, view, f);
      records++;
      f += len;
    }
    const tail = this.chunks[this.chunks.length - 1] as JsChunkFile;
    const dataEnd = offset + prevEnd;
    if (dataEnd + ZERO_AHEAD_BYTES / 2 > this.zeroedEnd) {
      const to = Math.ceil((dataEnd + ZERO_AHEAD_BYTES) / 4096) * 4096;
      if (tail.fillZeroes(Math.max(this.zeroedEnd, dataEnd), to)) this.zeroedEnd = to;
    }
    try {
      writeFully(tail.fd, view.subarray(0, prevEnd), offset);
    } catch (err) {
      this.undoFailedWrite(tail, offset);
      throw toAnnalsError(err, `write ${tail.file}: `);
    }
    this.dataChecksum = checksum;
    this.recordCount = records;
    this.writeOffset = offset + prevEnd;
  }

  /**
   * After a write into the tail failed at `offset`: whole frames before the point of failure may be
   * in the file, so they are cut, or an append the caller is told failed would reappear (close()
   * would sync it, the next open accept it). The next frames start a new generation, so should the
   * cut not reach the disk before a crash, recovery takes what is left of these for a crashed
   * session's leftovers once a checkpoint of the new generation is written.
   */
  private undoFailedWrite(tail: JsChunkFile, offset: number): void {
    this.generation++;
    this.zeroedEnd = offset;
    try {
      tail.cutAt(offset);
    } catch (err) {
      this.failure = `a failed write could not be undone (${(err as Error).message}); reopen the store`;
    }
  }

  private rollOver(): void {
    const tail = this.chunks[this.chunks.length - 1];
    if (tail && !tail.sealed) {
      tail.seal({ recordCount: this.recordCount, dataEnd: this.writeOffset, dataChecksum: this.dataChecksum });
      this.reads.readable(tail);
    }
    this.chunks.push(JsChunkFile.create(this.dir, this.chunks.length, this.chunkSize, this.storeIdentity));
    this.writeOffset = CHUNK_HEADER_SIZE;
    this.flushedOffset = CHUNK_HEADER_SIZE;
    this.zeroedEnd = CHUNK_HEADER_SIZE;
    this.recordCount = 0;
    this.dataChecksum = 0;
  }

  async flush(): Promise<void> {
    if (!this.isOpen || this.readOnly) return;
    const tail = this.chunks[this.chunks.length - 1];
    const endPosition = this.endPosition();
    const cpFd = this.checkpointFd;
    const cp = encodeCheckpoint({
      durableEnd: endPosition,
      generation: this.generation,
      tailRecords: this.recordCount,
      tailChecksum: this.dataChecksum,
    });
    this.flushesPending++;
    this.poller.start();
    try {
      if (tail && !tail.sealed && this.writeOffset > this.flushedOffset) {
        this.flushedOffset = this.writeOffset;
        this.syncing = tail;
        try {
          await new Promise<void>((resolve, reject) => fs.fdatasync(tail.fd, (e) => (e ? reject(e) : resolve())));
        } finally {
          this.syncing = undefined;
        }
      }
      await new Promise<void>((resolve, reject) => fs.write(cpFd, cp, 0, cp.length, 0, (e) => (e ? reject(e) : resolve())));
    } catch (err) {
      throw toAnnalsError(err, 'flush: ');
    } finally {
      this.flushesPending--;
    }
  }

  private writeCheckpoint(durableEnd: number, sync: boolean): void {
    writeFully(
      this.checkpointFd,
      encodeCheckpoint({ durableEnd, generation: this.generation, tailRecords: this.recordCount, tailChecksum: this.dataChecksum }),
      0,
    );
    if (sync) fs.fdatasyncSync(this.checkpointFd);
  }

  forget(n: number): void {
    this.reads.forget(n);
  }

  readFrames(positions: ArrayLike<number>): Buffer {
    return this.reads.readFrames(positions);
  }

  scan(from: number, limit: number, maxBytes: number): { bytes: Buffer; next: number } {
    return this.reads.scan(from, limit, maxBytes);
  }

  skipDamaged(position: number): number {
    return this.reads.skipDamaged(position);
  }

  close(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    try {
      if (!this.readOnly) {
        const tail = this.chunks[this.chunks.length - 1];
        if (tail && !tail.sealed) fs.fdatasyncSync(tail.fd);
        this.writeCheckpoint(this.endPosition(), true);
      }
    } catch (err) {
      throw err instanceof AnnalsError ? err : toAnnalsError(err, 'close: ');
    } finally {
      for (const c of this.chunks) c.close();
      this.chunks = [];
      if (this.checkpointFd >= 0) fs.closeSync(this.checkpointFd);
      this.checkpointFd = -1;
    }
  }
}
