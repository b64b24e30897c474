/**
 * Reads one scavenged chunk (lib/format/scavenged-chunk.ts) by logical offset. Its run map is read
 * at open; the first read expands it into a per-frame map (8 bytes per surviving event in memory)
 * by one sequential pass over the frames' lengths, checked against the footer's chained checksum.
 * Frames are read with pread from a descriptor held open for the chunk's life in this process, so a
 * later rewrite of the file (a second scavenge) never changes what an open reader sees until it
 * adopts the new file.
 */
import fs from 'node:fs';
import { CorruptionError, InvalidArgumentError } from '../errors.js';
import { crc32c } from '../format/crc32c.js';
import { CHUNK_FOOTER_SIZE, CHUNK_HEADER_SIZE, FRAME_HEADER_SIZE } from '../format/layout.js';
import { chainFrameChecksum } from '../format/record-scanner.js';
import {
  decodeErasedCommands,
  decodeRunMap,
  decodeScavengedFooter,
  type ErasedCommands,
  type RunMap,
  type ScavengedFooter,
  scavengedTailSize,
} from '../format/scavenged-chunk.js';

/** Bytes read at once while expanding the run map. */
const EXPAND_BLOCK = 4 << 20;

export interface FrameMap {
  logical: Uint32Array;
  offsets: Uint32Array;
}

import { readExactly } from './js-chunk-file.js';

export class ScavengedChunkFile {
  private constructor(
    readonly file: string,
    readonly number: number,
    readonly chunkSize: number,
    private fd: number,
    readonly footer: ScavengedFooter,
    readonly runs: RunMap,
    /** The command keys of the frames removed from it (by logical offset). */
    readonly erased: ErasedCommands,
  ) {}

  private frames: FrameMap | undefined;

  /** The per-frame map, expanded from the runs on first use. */
  get map(): FrameMap {
    this.frames ??= this.expand();
    return this.frames;
  }

  private expand(): FrameMap {
    const logical: number[] = [];
    const offsets: number[] = [];
    let checksum = 0;
    const { runs, footer } = this;
    for (let r = 0; r < runs.logical.length; r++) {
      const start = runs.offsets[r] as number;
      const end = r + 1 < runs.offsets.length ? (runs.offsets[r + 1] as number) : footer.mapOffset;
      let buf: Buffer = Buffer.alloc(0);
      let bufStart = start;
      for (let o = start; o < end; ) {
        if (o + FRAME_HEADER_SIZE > bufStart + buf.length) {
          bufStart = o;
          buf = this.read(o, Math.min(end - o, EXPAND_BLOCK));
        }
        const len = o + FRAME_HEADER_SIZE <= end ? buf.readUInt32LE(o - bufStart) : 0;
        if (len < FRAME_HEADER_SIZE || o + len > end)
          throw new CorruptionError(`chunk ${this.file} at offset ${o}: frames do not tile their run`);
        checksum = chainFrameChecksum(checksum, buf, o - bufStart);
        logical.push((runs.logical[r] as number) + (o - start));
        offsets.push(o);
        o += len;
      }
    }
    if (checksum >>> 0 !== footer.dataChecksum >>> 0) throw new CorruptionError(`chunk ${this.file}: scavenged frames checksum mismatch`);
    return { logical: Uint32Array.from(logical), offsets: Uint32Array.from(offsets) };
  }

  /** Opens `file` when it is a scavenged chunk; undefined when it is an ordinary one. Throws
   * CorruptionError when its scavenged footer or map is damaged. */
  static tryOpen(file: string, number: number, chunkSize: number, frames?: FrameMap): ScavengedChunkFile | undefined {
    const fd = fs.openSync(file, 'r');
    try {
      const raw = readExactly(fd, CHUNK_FOOTER_SIZE, chunkSize - CHUNK_FOOTER_SIZE);
      const footer = raw && decodeScavengedFooter(raw, chunkSize);
      if (!raw || raw[9] === 0 || raw[9] === undefined) {
        fs.closeSync(fd);
        return undefined;
      }
      if (!footer) throw new CorruptionError(`chunk ${file} at offset ${chunkSize - CHUNK_FOOTER_SIZE}: invalid scavenged footer`);
      const tail = readExactly(fd, scavengedTailSize(footer), footer.mapOffset) ?? Buffer.alloc(0);
      const map = decodeRunMap(tail, footer);
      if (typeof map === 'string') throw new CorruptionError(`chunk ${file} at offset ${footer.mapOffset}: ${map}`);
      const chunk = new ScavengedChunkFile(file, number, chunkSize, fd, footer, map, decodeErasedCommands(tail, footer));
      // The scavenge that wrote the file knows its frames: no pass over them to expand the map.
      if (frames && frames.offsets[0] === map.offsets[0]) chunk.frames = frames;
      return chunk;
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  get survivors(): number {
    return this.map.logical.length;
  }

  /** Index of the first surviving frame at or after logical offset `offset` (survivors when none). */
  lowerBound(offset: number): number {
    const { logical } = this.map;
    let lo = 0;
    let hi = logical.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((logical[mid] as number) < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The map index of the frame at logical `offset`, or -1 when no surviving frame starts there. */
  indexOf(offset: number): number {
    const i = this.lowerBound(offset);
    return i < this.map.logical.length && this.map.logical[i] === offset ? i : -1;
  }

  frameLength(i: number): number {
    const next = i + 1 < this.map.offsets.length ? (this.map.offsets[i + 1] as number) : this.footer.mapOffset;
    return next - (this.map.offsets[i] as number);
  }

  /** The verified frame at logical offset `offset`. */
  frameAt(offset: number, position: number): Buffer {
    const i = this.indexOf(offset);
    if (i < 0) throw new InvalidArgumentError(`no record at position ${position}`);
    const bytes = this.read(this.map.offsets[i] as number, this.frameLength(i));
    this.verify(bytes, 0, this.map.offsets[i] as number, position);
    return bytes;
  }

  /**
   * Surviving frames from the first one at or after logical `offset`, below logical `limit`, about
   * `maxBytes` (at least one frame): back to back in this file, so one read, with the logical
   * offset of each (removed frames may lie between them). Undefined when none is left in the chunk.
   */
  run(offset: number, limit: number, maxBytes: number): { bytes: Buffer; offsets: number[]; end: number } | undefined {
    const { logical, offsets } = this.map;
    const first = this.lowerBound(offset);
    if (first >= logical.length || (logical[first] as number) >= limit) return undefined;
    let end = first + 1;
    let size = this.frameLength(first);
    while (end < logical.length && (logical[end] as number) < limit) {
      const len = this.frameLength(end);
      if (size + len > maxBytes) break;
      size += len;
      end++;
    }
    const bytes = this.read(offsets[first] as number, size);
    const out: number[] = [];
    for (let off = 0, i = first; i < end; off += this.frameLength(i), i++) {
      this.verify(bytes, off, offsets[i] as number, this.number * this.chunkSize + (logical[i] as number));
      out.push(logical[i] as number);
    }
    return { bytes, offsets: out, end: (logical[end - 1] as number) + this.frameLength(end - 1) };
  }

  private read(offset: number, length: number): Buffer {
    const bytes = readExactly(this.fd, length, offset);
    if (!bytes) throw new CorruptionError(`chunk ${this.file} at offset ${offset}: file ends inside a frame`);
    return bytes;
  }

  private verify(bytes: Buffer, off: number, fileOffset: number, position: number): void {
    const len = bytes.readUInt32LE(off);
    if (len < FRAME_HEADER_SIZE || off + len > bytes.length || bytes.readUInt32LE(off + 4) !== crc32c(bytes, 0, off + 8, off + len)) {
      throw new CorruptionError(`chunk ${this.file} at offset ${fileOffset}: bad frame`, false, position);
    }
  }

  /** The logical offset after the chunk's last frame as first sealed. */
  get logicalEnd(): number {
    return this.footer.logicalEnd;
  }

  /** Bytes the chunk's data takes now: its frames and map. */
  get storedBytes(): number {
    return this.footer.mapOffset - CHUNK_HEADER_SIZE + scavengedTailSize(this.footer);
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
