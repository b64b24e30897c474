/**
 * The temp file a scavenge pass writes (scavenge-pass.ts): surviving frames are announced one by
 * one (`frame`: their place in the per-frame map and the chained data checksum) and their bytes
 * copied in runs (`copy`), through one bounded buffer written out when full. Dirty pages are
 * fdatasynced as they accrue (every SYNC_EVERY_BYTES), so the file's writeback never piles up
 * behind an append's flush (ext4's ordered mode writes every dirty allocated block at a journal
 * commit).
 *
 * Invariant: after `drain()`, the file holds every copied byte at [CHUNK_HEADER_SIZE, end).
 */
import fs from 'node:fs';
import { CHUNK_HEADER_SIZE } from './format/layout.js';
import { chainFrameChecksum } from './format/record-scanner.js';

/** Surviving bytes gathered before one write. */
const BATCH_BYTES = 1 << 20;
/** Bytes of the temp file written between two fdatasyncs of it. */
const SYNC_EVERY_BYTES = 2 << 20;

/** A growable list of u32 (per-frame maps run to a few hundred thousand entries a chunk). */
export class U32List {
  items = new Uint32Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.items.length) {
      const bigger = new Uint32Array(this.items.length * 2);
      bigger.set(this.items);
      this.items = bigger;
    }
    this.items[this.length++] = v;
  }

  toArray(): Uint32Array {
    return this.items.slice(0, this.length);
  }
}

/** Writes all of `bytes` at file offset `at`. */
export function writeAt(fd: number, bytes: Buffer, at: number): void {
  for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done, at + done);
}

export class PassOutput {
  readonly logical = new U32List();
  readonly offsets = new U32List();
  /** Where the next announced frame goes in the file. */
  end = CHUNK_HEADER_SIZE;
  checksum = 0;
  private readonly pending = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  /** File offset of pending[0]. */
  private pendingAt = CHUNK_HEADER_SIZE;
  private syncedTo = CHUNK_HEADER_SIZE;

  constructor(
    readonly fd: number,
    readonly chunkSize: number,
  ) {
    fs.ftruncateSync(fd, chunkSize);
  }

  /** A surviving frame of `len` bytes at buf[off], its bytes copied by a later `copy`. */
  frame(buf: Buffer, off: number, len: number, logical: number): void {
    this.logical.push(logical);
    this.offsets.push(this.end);
    this.checksum = chainFrameChecksum(this.checksum, buf, off);
    this.end += len;
  }

  /** Copies buf[from, to): frames announced already, in order. */
  copy(buf: Buffer, from: number, to: number): void {
    const len = to - from;
    if (this.used + len > this.pending.length) this.drain();
    if (len > this.pending.length) {
      this.writeAt(buf.subarray(from, to), this.pendingAt);
      this.pendingAt += len;
      return;
    }
    buf.copy(this.pending, this.used, from, to);
    this.used += len;
  }

  drain(): void {
    if (this.used === 0) return;
    this.writeAt(this.pending.subarray(0, this.used), this.pendingAt);
    this.pendingAt += this.used;
    this.used = 0;
  }

  /** Writes the dirty pages out when enough accrued (between blocks). */
  async syncSome(): Promise<void> {
    if (this.pendingAt - this.syncedTo < SYNC_EVERY_BYTES) return;
    this.syncedTo = this.pendingAt;
    await this.sync();
  }

  writeAt(bytes: Buffer, at: number): void {
    writeAt(this.fd, bytes, at);
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.fd, (e) => (e ? reject(e) : resolve())));
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
