/**
 * Walks the frames of one chunk's data region and says how far they are valid: the TypeScript twin
 * of native/record_scanner.cc, with the same stop reasons. Only frames up to the last COMMIT count.
 */
import { crc32c } from './crc32c.js';
import { FRAME_FLAG_COMMIT, FRAME_HEADER_SIZE, isEventKind } from './layout.js';

export type ScanStop = 'end of region' | 'zeroed space' | 'bad frame length' | 'bad checksum' | 'unknown record kind' | 'stale generation';

export interface ScanResult {
  committedEnd: number;
  committedRecords: number;
  dataChecksum: number;
  lastGeneration: number;
  stopOffset: number;
  stop: ScanStop;
  /** The same over every valid frame in [begin, stopOffset), committed or not: what recovery carries
   * past a damaged frame that valid records follow (a damaged record is kept, not cut). */
  validRecords: number;
  validChecksum: number;
  validGeneration: number;
}

/** Scans [begin, end) of `chunk` (offsets are into `chunk`); `checksumSeed` continues a data
 * checksum chained over the frames before `begin`. */
export function scanFrames(chunk: Buffer, begin: number, end: number, minGeneration: number, checksumSeed = 0): ScanResult {
  const r: ScanResult = {
    committedEnd: begin,
    committedRecords: 0,
    dataChecksum: checksumSeed,
    lastGeneration: minGeneration,
    stopOffset: begin,
    stop: 'end of region',
    validRecords: 0,
    validChecksum: checksumSeed,
    validGeneration: minGeneration,
  };
  let off = begin;
  let records = 0;
  let checksum = checksumSeed;
  let generation = minGeneration;
  for (;;) {
    if (end - off < FRAME_HEADER_SIZE) {
      r.stop = 'end of region';
      for (let i = off; i < end; i++) {
        if (chunk[i] !== 0) {
          r.stop = 'bad frame length';
          break;
        }
      }
      if (r.stop === 'end of region' && off < end) r.stop = 'zeroed space';
      break;
    }
    const len = chunk.readUInt32LE(off);
    if (len === 0) {
      r.stop = 'zeroed space';
      break;
    }
    if (len < FRAME_HEADER_SIZE || len > end - off) {
      r.stop = 'bad frame length';
      break;
    }
    if (chunk.readUInt32LE(off + 4) !== crc32c(chunk, 0, off + 8, off + len)) {
      r.stop = 'bad checksum';
      break;
    }
    if (!isEventKind(chunk[off + 8])) {
      r.stop = 'unknown record kind';
      break;
    }
    const frameGeneration = chunk.readUInt32LE(off + 12);
    if (frameGeneration < generation) {
      r.stop = 'stale generation';
      break;
    }
    generation = frameGeneration;
    checksum = chainFrameChecksum(checksum, chunk, off);
    records++;
    const flags = chunk[off + 9] as number;
    off += len;
    r.validRecords = records;
    r.validChecksum = checksum;
    r.validGeneration = generation;
    if (flags & FRAME_FLAG_COMMIT) {
      r.committedEnd = off;
      r.committedRecords = records;
      r.dataChecksum = checksum;
      r.lastGeneration = generation;
    }
  }
  r.stopOffset = off;
  return r;
}

export function chainFrameChecksum(checksum: number, buf: Uint8Array, frameOffset: number): number {
  return crc32c(buf, checksum, frameOffset, frameOffset + 8);
}

/** Whether a stop means a damaged frame (its bytes are there but wrong), as opposed to the clean
 * end of the data or a crashed session's leftovers. */
export function isDamageStop(stop: ScanStop): boolean {
  return stop === 'bad frame length' || stop === 'bad checksum' || stop === 'unknown record kind';
}

function frameValidAt(chunk: Buffer, off: number, end: number, minGeneration: number): boolean {
  if (end - off < FRAME_HEADER_SIZE) return false;
  const len = chunk.readUInt32LE(off);
  // Cheap tests first: most offsets a resynchronisation tries fail on the kind or reserved bytes.
  if (len < FRAME_HEADER_SIZE || len > end - off || !isEventKind(chunk[off + 8]) || chunk[off + 10] !== 0 || chunk[off + 11] !== 0) {
    return false;
  }
  if (chunk.readUInt32LE(off + 12) < minGeneration) return false;
  return chunk.readUInt32LE(off + 4) === crc32c(chunk, 0, off + 8, off + len);
}

/**
 * The offset of the first frame after the damaged one at `damaged` that is whole and valid on its
 * own (length within `end`, CRC, event kind, zero reserved bytes, generation >= minGeneration), or
 * `end` when there is none: the damaged frame's own length is tried first (a flipped bit in a body
 * leaves it intact), then every later offset. Twin of native/record_scanner.cc.
 */
export function findNextFrame(chunk: Buffer, damaged: number, end: number, minGeneration: number): number {
  if (damaged >= end) return end;
  if (end - damaged >= FRAME_HEADER_SIZE) {
    const len = chunk.readUInt32LE(damaged);
    if (len >= FRAME_HEADER_SIZE && len <= end - damaged && frameValidAt(chunk, damaged + len, end, minGeneration)) return damaged + len;
  }
  for (let off = damaged + 1; off + FRAME_HEADER_SIZE <= end; off++) {
    if (frameValidAt(chunk, off, end, minGeneration)) return off;
  }
  return end;
}

const SECTOR = 512;

/**
 * Whether [from, to) overlaps a 512-byte sector (aligned to offset 0 of `chunk`, which must be
 * aligned to the file's) inside [0, limit) that is all zeroes: the mark a write lost in a crash
 * leaves, since every byte past the end of the log reads as zero.
 */
export function hasZeroSector(chunk: Buffer, from: number, to: number, limit: number): boolean {
  for (let s = Math.floor(from / SECTOR) * SECTOR; s < to && s + SECTOR <= limit; s += SECTOR) {
    let zero = true;
    for (let i = s; i < s + SECTOR && zero; i++) zero = chunk[i] === 0;
    if (zero) return true;
  }
  return false;
}
