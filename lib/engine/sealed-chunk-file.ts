/**
 * Reads one ordinary sealed chunk with pread, from a descriptor held while the reader lives: the
 * read-only store's path to sealed chunks (scavenged-log.ts). A writer may scavenge a chunk while a
 * read-only store has it open; a reader opened before the swap keeps the old file (its descriptor
 * holds the inode), and a reader opened after it reads the footer of the file found then, so a
 * scavenged file is never read with an ordinary chunk's layout, nor the reverse (which either
 * engine would do on remapping a chunk by its name with the footer it read at open).
 */
import fs from 'node:fs';
import { CorruptionError, InvalidArgumentError } from '../errors.js';
import { crc32c } from '../format/crc32c.js';
import { CHUNK_FOOTER_SIZE, CHUNK_HEADER_SIZE, decodeChunkFooter, FRAME_HEADER_SIZE } from '../format/layout.js';
import { findNextFrame } from '../format/record-scanner.js';
import { readExactly } from './js-chunk-file.js';

export class SealedChunkFile {
  private constructor(
    readonly file: string,
    readonly number: number,
    readonly chunkSize: number,
    private fd: number,
    readonly logicalEnd: number,
  ) {}

  /** Opens an ordinary sealed chunk; undefined when `file` has no valid footer. */
  static open(file: string, number: number, chunkSize: number): SealedChunkFile | undefined {
    const fd = fs.openSync(file, 'r');
    const raw = readExactly(fd, CHUNK_FOOTER_SIZE, chunkSize - CHUNK_FOOTER_SIZE);
    const footer = raw && decodeChunkFooter(raw);
    if (!footer) {
      fs.closeSync(fd);
      return undefined;
    }
    return new SealedChunkFile(file, number, chunkSize, fd, footer.dataEnd);
  }

  private read(offset: number, length: number): Buffer {
    const b = readExactly(this.fd, length, offset);
    if (!b) throw new CorruptionError(`chunk ${this.file} at offset ${offset}: file ends inside the data`);
    return b;
  }

  private lengthAt(b: Buffer, fileOffset: number, position: number): number {
    const len = FRAME_HEADER_SIZE <= b.length ? b.readUInt32LE(0) : 0;
    if (len < FRAME_HEADER_SIZE || fileOffset + len > this.logicalEnd) {
      throw new CorruptionError(`chunk ${this.file} at offset ${fileOffset}: bad frame length`, false, position);
    }
    return len;
  }

  frameAt(offset: number, position: number): Buffer {
    if (offset < CHUNK_HEADER_SIZE || offset + FRAME_HEADER_SIZE > this.logicalEnd)
      throw new InvalidArgumentError(`no record at position ${position}`);
    let b = this.read(offset, Math.min(512, this.logicalEnd - offset));
    const len = this.lengthAt(b, offset, position);
    b = len <= b.length ? b.subarray(0, len) : this.read(offset, len);
    if (b.readUInt32LE(4) !== crc32c(b, 0, 8, len))
      throw new CorruptionError(`chunk ${this.file} at offset ${offset}: bad checksum`, false, position);
    return b;
  }

  /** Whole verified frames from `offset` below `limit`, about `maxBytes`; stops before a damaged
   * frame (throws when it is the first). */
  run(offset: number, limit: number, maxBytes: number): { bytes: Buffer; start: number } | undefined {
    const end = Math.min(this.logicalEnd, limit);
    if (offset >= end) return undefined;
    const base = this.number * this.chunkSize;
    const block = this.read(offset, Math.min(end - offset, Math.max(maxBytes, FRAME_HEADER_SIZE)));
    let off = 0;
    while (off + FRAME_HEADER_SIZE <= block.length) {
      const len = block.readUInt32LE(off);
      if (len > block.length - off) break;
      if (len < FRAME_HEADER_SIZE || block.readUInt32LE(off + 4) !== crc32c(block, 0, off + 8, off + len)) {
        if (off > 0) break;
        throw new CorruptionError(`chunk ${this.file} at offset ${offset}: bad frame`, false, base + offset);
      }
      off += len;
    }
    if (off === 0) return { bytes: this.frameAt(offset, base + offset), start: offset };
    return { bytes: block.subarray(0, off), start: offset };
  }

  /** The logical offset of the next frame after a damaged one at `offset` (logicalEnd: none). */
  nextAfterDamage(offset: number): number {
    const window = Math.min(this.logicalEnd - offset, 4 << 20);
    if (window <= 0) return this.logicalEnd;
    const img = this.read(offset, window);
    const next = findNextFrame(img, 0, img.length, 0);
    return next < img.length ? offset + next : this.logicalEnd;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
