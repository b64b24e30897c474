/**
 * Reads of the JS engine's log (js-chunk-log.ts): frames by position, scans over a range, and the
 * skip past a damaged frame, each frame checked (length, CRC) before it is returned. Sealed chunks
 * are read through descriptors kept for at most OPEN_SEALED_CHUNKS of them, the least recently
 * read closed first and reopened when read again (JsChunkFile.fd); the chunk whose fdatasync is in
 * flight keeps its descriptor.
 */
import { CorruptionError, InvalidArgumentError, StoreClosedError } from '../errors.js';
import { crc32c } from '../format/crc32c.js';
import { CHUNK_HEADER_SIZE, FRAME_HEADER_SIZE } from '../format/layout.js';
import { findNextFrame } from '../format/record-scanner.js';
import { type JsChunkFile, readExactly } from './js-chunk-file.js';

/** Sealed chunks kept open for reading at once; older ones are closed and reopened when read. */
const OPEN_SEALED_CHUNKS = 16;

/** What the reads see of the log's state, which the log owns and changes. */
export interface ReadableLog {
  readonly chunkSize: number;
  readonly chunks: readonly JsChunkFile[];
  /** The tail chunk's end of data. */
  readonly writeOffset: number;
  readonly isOpen: boolean;
  /** A chunk whose fdatasync is in flight. */
  readonly syncing: JsChunkFile | undefined;
  endPosition(): number;
}

export class JsChunkReads {
  /** Sealed chunks with an open descriptor, most recently read first. */
  private openSealed: JsChunkFile[] = [];

  constructor(private readonly log: ReadableLog) {}

  /** Closes chunk `n`'s descriptor (a scavenge swapped its file). */
  forget(n: number): void {
    const chunk = this.log.chunks[n];
    // The chunk being fdatasynced keeps its descriptor until the sync is done (then evicted as usual).
    if (!chunk?.sealed || chunk === this.log.syncing) return;
    this.openSealed = this.openSealed.filter((c) => c !== chunk);
    chunk.release();
  }

  /** A chunk for reading: a sealed one joins the open set, evicting the least recently read. */
  readable(chunk: JsChunkFile): JsChunkFile {
    // Reads of a stream or the global log hit the same chunk many times in a row.
    if (!chunk.sealed || this.openSealed[0] === chunk) return chunk;
    this.openSealed = [chunk, ...this.openSealed.filter((c) => c !== chunk)];
    while (this.openSealed.length > OPEN_SEALED_CHUNKS) {
      const victim = this.openSealed.pop() as JsChunkFile;
      if (victim !== this.log.syncing) victim.release();
    }
    return chunk;
  }

  private dataLimit(chunk: JsChunkFile): number {
    return chunk.sealed ? (chunk.footer?.dataEnd ?? 0) : this.log.writeOffset;
  }

  /** The verified frame at `position`, read with a single pread when `hint` bytes suffice. */
  frameAt(position: number, hint = 512): Buffer {
    const number = Math.floor(position / this.log.chunkSize);
    const offset = position % this.log.chunkSize;
    const found = this.log.chunks[number];
    if (!this.log.isOpen) throw new StoreClosedError();
    const chunk = found && this.readable(found);
    const limit = chunk ? this.dataLimit(chunk) : 0;
    if (!chunk || !Number.isInteger(position) || offset < CHUNK_HEADER_SIZE || offset + FRAME_HEADER_SIZE > limit) {
      throw new InvalidArgumentError(`no record at position ${position}`);
    }
    let buf = readExactly(chunk.fd, Math.min(hint, limit - offset), offset) as Buffer;
    const len = buf.readUInt32LE(0);
    if (len < FRAME_HEADER_SIZE || len > limit - offset) {
      throw new CorruptionError(`chunk ${chunk.file} at offset ${offset}: bad frame length`, false, position);
    }
    if (len > buf.length) buf = readExactly(chunk.fd, len, offset) as Buffer;
    else buf = buf.subarray(0, len);
    if (buf.readUInt32LE(4) !== crc32c(buf, 0, 8, len)) {
      throw new CorruptionError(`chunk ${chunk.file} at offset ${offset}: bad checksum`, false, position);
    }
    return buf;
  }

  readFrames(positions: ArrayLike<number>): Buffer {
    const frames: Buffer[] = [];
    for (let i = 0; i < positions.length; i++) frames.push(this.frameAt(positions[i] as number));
    return Buffer.concat(frames);
  }

  scan(from: number, limit: number, maxBytes: number): { bytes: Buffer; next: number } {
    const frames: Buffer[] = [];
    let size = 0;
    let position = from;
    while (position < limit) {
      const number = Math.floor(position / this.log.chunkSize);
      const found = this.log.chunks[number];
      if (!found) break;
      const chunk = this.readable(found);
      const offset = position % this.log.chunkSize;
      const dataLimit = this.dataLimit(chunk);
      if (offset >= dataLimit) {
        if (size > 0 || number + 1 >= this.log.chunks.length) break;
        position = (number + 1) * this.log.chunkSize + CHUNK_HEADER_SIZE;
        continue;
      }
      // One pread for a block of frames, then verify each; a frame cut by the block is re-read.
      const block = readExactly(
        chunk.fd,
        Math.min(Math.max(maxBytes - size, FRAME_HEADER_SIZE), dataLimit - offset, limit - position),
        offset,
      ) as Buffer;
      let off = 0;
      let progressed = false;
      while (off + FRAME_HEADER_SIZE <= block.length) {
        const len = block.readUInt32LE(off);
        if (len > block.length - off) break;
        if (len < FRAME_HEADER_SIZE || block.readUInt32LE(off + 4) !== crc32c(block, 0, off + 8, off + len)) {
          // The frames before a damaged one are returned; the next scan, from it, reports it.
          if (size > 0) return { bytes: Buffer.concat(frames), next: position + off };
          throw new CorruptionError(`chunk ${chunk.file} at offset ${offset + off}: bad frame`, false, position + off);
        }
        frames.push(block.subarray(off, off + len));
        size += len;
        off += len;
        progressed = true;
      }
      position += off;
      if (!progressed) {
        if (size > 0) break;
        const frame = this.frameAt(position);
        frames.push(frame);
        size += frame.length;
        position += frame.length;
      }
      if (size >= maxBytes) break;
    }
    return { bytes: Buffer.concat(frames), next: position };
  }

  skipDamaged(position: number): number {
    const number = Math.floor(position / this.log.chunkSize);
    const found = this.log.chunks[number];
    if (!this.log.isOpen || !found) return this.log.endPosition();
    const chunk = this.readable(found);
    const offset = position % this.log.chunkSize;
    const limit = this.dataLimit(chunk);
    const after = number + 1 < this.log.chunks.length ? (number + 1) * this.log.chunkSize + CHUNK_HEADER_SIZE : this.log.endPosition();
    // A window that doubles until a frame is found in it or it reaches the data's end: a frame is
    // normally right after the damaged one, and this path runs only where a record is damaged.
    for (
      let window = Math.min(limit - offset, 4 << 20);
      offset >= CHUNK_HEADER_SIZE && window > 0;
      window = Math.min(limit - offset, window * 2)
    ) {
      const img = readExactly(chunk.fd, window, offset) as Buffer;
      const next = findNextFrame(img, 0, img.length, 0);
      if (next < img.length) return position + next;
      if (offset + window >= limit) break;
    }
    return after;
  }
}
