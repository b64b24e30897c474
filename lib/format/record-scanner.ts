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
