/**
 * Recovery of the JS engine's tail chunk at open (the rules are native/chunk_log.cc's): how far
 * its frames are committed and valid, and what follows that is torn. The scan resumes at the
 * checkpoint when it lies in this chunk, since what precedes it was durable (its frames are
 * CRC-checked whenever read), so the cost follows the unflushed tail, not the chunk's size.
 */
import { CHUNK_HEADER_SIZE, type Checkpoint, dataCapacityEnd } from '../format/layout.js';
import { type ScanStop, scanFrames } from '../format/record-scanner.js';
import { type JsChunkFile, readExactly, writeFully } from './js-chunk-file.js';

/** Zeroes past the torn bytes too: a crash can leave a partly written page beyond them. */
const TORN_ZERO_SLACK = 4096;

export interface TailState {
  /** Offset in the chunk where the next append goes: the end of the last committed frame. */
  writeOffset: number;
  recordCount: number;
  dataChecksum: number;
  lastGeneration: number;
  /** Set when bytes after the committed end were not a clean end of the log. */
  torn?: { offset: number; discardedBytes: number; reason: ScanStop };
}

/** Scans the unsealed tail chunk and, unless `readOnly`, zeroes a torn end (the caller syncs). */
export function recoverTail(tail: JsChunkFile, chunkSize: number, cp: Checkpoint, readOnly: boolean): TailState {
  const base = tail.number * chunkSize;
  const end = dataCapacityEnd(chunkSize);
  const resume = cp.durableEnd > base + CHUNK_HEADER_SIZE && cp.durableEnd <= base + end;
  const begin = resume ? cp.durableEnd - base : CHUNK_HEADER_SIZE;
  // A window that grows until the scan ends well inside it.
  let window = Math.min(end - begin, 1 << 20);
  const scanWindow = () => {
    const image = readExactly(tail.fd, window, begin) ?? Buffer.alloc(0);
    const r = scanFrames(image, 0, image.length, resume ? cp.generation : 0, resume ? cp.tailChecksum : 0);
    return { ...r, committedEnd: r.committedEnd + begin, stopOffset: r.stopOffset + begin };
  };
  let scan = scanWindow();
  while (begin + window < end && (scan.stop !== 'zeroed space' || scan.stopOffset + 65536 > begin + window)) {
    window = Math.min(end - begin, window * 4);
    scan = scanWindow();
  }
  const state: TailState = {
    writeOffset: scan.committedEnd,
    recordCount: (resume ? cp.tailRecords : 0) + scan.committedRecords,
    dataChecksum: scan.dataChecksum,
    lastGeneration: scan.lastGeneration,
  };
  const clean = scan.stopOffset === scan.committedEnd && (scan.stop === 'zeroed space' || scan.stop === 'end of region');
  if (!clean) {
    state.torn = { offset: scan.committedEnd, discardedBytes: scan.stopOffset - scan.committedEnd, reason: scan.stop };
    if (!readOnly) {
      const zeroEnd = Math.min(end, scan.stopOffset + TORN_ZERO_SLACK);
      writeFully(tail.fd, Buffer.alloc(zeroEnd - scan.committedEnd), scan.committedEnd);
    }
  }
  return state;
}
