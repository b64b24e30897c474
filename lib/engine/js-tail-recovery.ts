/**
 * Recovery of the JS engine's tail chunk at open: where its committed frames end, what follows that
 * is a torn write to cut, and what is damage to keep. The rules are native/tail_recovery.h's (read
 * its header): the scan resumes at the checkpoint; a torn tail is only what a crash can leave (the
 * clean end, a crashed session's leftovers, a damaged frame that no valid frame follows or whose
 * span holds an all-zero sector); a damaged frame that valid frames of this session follow is kept
 * and reported, and the scan goes on after it; the cut leaves a hole from the end of the log on.
 * A last chunk with a footer is sealed only if its data bears the footer out (sealHolds): a power
 * cut during the seal can keep the footer's sector and lose the unsynced data before it.
 */
import { CorruptionError } from '../errors.js';
import { CHUNK_FOOTER_SIZE, CHUNK_HEADER_SIZE, type Checkpoint, dataCapacityEnd, FRAME_HEADER_SIZE } from '../format/layout.js';
import { chainFrameChecksum, findNextFrame, hasZeroSector, isDamageStop, type ScanStop, scanFrames } from '../format/record-scanner.js';
import { type JsChunkFile, readExactly } from './js-chunk-file.js';

const INITIAL_WINDOW = 1 << 20;
/** The window grows until the scan ends at least this far inside it. */
const CLEAN_MARGIN = 64 << 10;
/** How far past a damaged frame a valid one is looked for (native/tail_recovery.cc). */
const RESYNC_REACH = (16 << 20) + (1 << 20);
const MAX_DAMAGED = 64;
/** The torn reason of a last chunk whose footer reached the disk without the data it seals. */
export const UNBACKED_FOOTER = 'footer without its data';
/** What sealHolds reads at a time (more only for a frame larger than this). */
const SEAL_WINDOW = 1 << 20;

export interface TailState {
  /** Offset in the chunk where the next append goes: the end of the last committed frame. */
  writeOffset: number;
  recordCount: number;
  dataChecksum: number;
  lastGeneration: number;
  /** Set when bytes after the committed end were not a clean end of the log. */
  torn?: { offset: number; discardedBytes: number; reason: ScanStop | typeof UNBACKED_FOOTER };
  /** Offsets of damaged frames kept in the log (valid records follow them). */
  damaged: number[];
}

interface Walk {
  committedEnd: number;
  committedRecords: number;
  checksum: number;
  generation: number;
  stopOffset: number;
  stop: ScanStop;
  torn: boolean;
  /** The image ended before the walk could decide: the image length that would do. */
  wanted?: number;
  damaged: number[];
}

/** Walks an image of the tail (its offsets; the image starts at a multiple of 4096 in the file). */
function walkTail(img: Buffer, begin: number, whole: boolean, minGeneration: number, seed: number): Walk {
  const end = img.length;
  const w: Walk = {
    committedEnd: begin,
    committedRecords: 0,
    checksum: seed,
    generation: minGeneration,
    stopOffset: begin,
    stop: 'end of region',
    torn: false,
    damaged: [],
  };
  let at = begin;
  let pending = 0; // records after committedEnd carried over a damaged frame
  let checksum = seed;
  let generation = minGeneration;
  for (;;) {
    const r = scanFrames(img, at, end, generation, checksum);
    if (r.committedRecords > 0) {
      w.committedRecords += pending + r.committedRecords;
      pending = 0;
      w.committedEnd = r.committedEnd;
      w.checksum = r.dataChecksum;
      w.generation = r.lastGeneration;
    }
    w.stopOffset = r.stopOffset;
    w.stop = r.stop;
    // A stop near the image's end may be the window's, not the log's (a frame cut by it).
    if (!whole && r.stopOffset + CLEAN_MARGIN > end) return { ...w, wanted: end * 4 };
    if (!isDamageStop(r.stop)) break;
    const reach = Math.min(end, r.stopOffset + RESYNC_REACH);
    const next = findNextFrame(img, r.stopOffset, reach, r.validGeneration);
    if (next === reach && !whole && reach === end) return { ...w, wanted: r.stopOffset + RESYNC_REACH };
    if (next === reach || hasZeroSector(img, r.stopOffset, next, end)) break; // a torn write
    if (w.damaged.length === MAX_DAMAGED) throw new CorruptionError(`more than ${MAX_DAMAGED} damaged records in the tail chunk`);
    w.damaged.push(r.stopOffset);
    pending += r.validRecords - r.committedRecords + 1;
    checksum = next - r.stopOffset >= 8 ? chainFrameChecksum(r.validChecksum, img, r.stopOffset) : r.validChecksum;
    generation = r.validGeneration;
    at = next;
  }
  w.torn = !(w.stopOffset === w.committedEnd && (w.stop === 'zeroed space' || w.stop === 'end of region'));
  return w;
}

/**
 * Whether the last chunk's footer is borne out by its data: valid frames (resuming at the checkpoint
 * when it lies in this chunk) up to the footer's data end, the last one a COMMIT, with its record
 * count and data checksum. The seal writes the footer and syncs once, so a power cut before that
 * sync completes can leave the footer's sector on disk without the unsynced appends before it; the
 * next chunk exists only after that sync, so only the last chunk needs this check. Reads the data
 * a window at a time (twin of native/tail_recovery.cc SealHolds).
 */
export function sealHolds(tail: JsChunkFile, chunkSize: number, cp: Checkpoint): boolean {
  const footer = tail.footer;
  if (!footer) return false;
  const base = tail.number * chunkSize;
  const resume = cp.durableEnd > base + CHUNK_HEADER_SIZE && cp.durableEnd <= base + footer.dataEnd;
  let at = resume ? cp.durableEnd - base : CHUNK_HEADER_SIZE;
  let records = resume ? cp.tailRecords : 0;
  let checksum = resume ? cp.tailChecksum : 0;
  let generation = resume ? cp.generation : 0;
  let committed = true;
  while (at < footer.dataEnd) {
    let img = readExactly(tail.fd, Math.min(footer.dataEnd - at, SEAL_WINDOW), at);
    if (!img) return false;
    let r = scanFrames(img, 0, img.length, generation, checksum);
    if (r.stopOffset === 0 && img.length >= FRAME_HEADER_SIZE) {
      // A frame longer than the window: read it whole (its length is checked against the data end).
      const len = img.readUInt32LE(0);
      if (len <= img.length || len > footer.dataEnd - at) return false;
      img = readExactly(tail.fd, len, at);
      if (!img) return false;
      r = scanFrames(img, 0, len, generation, checksum);
    }
    if (r.stopOffset === 0) return false; // zeroes or a damaged frame where the footer says data is
    records += r.validRecords;
    checksum = r.validChecksum;
    generation = r.validGeneration;
    committed = r.committedEnd === r.stopOffset;
    at += r.stopOffset;
  }
  return at === footer.dataEnd && committed && records === footer.recordCount && checksum === footer.dataChecksum;
}

/** Scans the unsealed tail chunk and, unless `readOnly`, cuts a torn end (the cut is synced).
 * `floor`: an offset in this chunk the log is known durable up to; a torn end below it is refused.
 * `unbackedFooter`: the chunk holds a footer that sealHolds refused; it is cut with the torn end
 * (reported as torn even where the data ends cleanly), so the chunk is the tail again on disk. */
export function recoverTail(
  tail: JsChunkFile,
  chunkSize: number,
  cp: Checkpoint,
  readOnly: boolean,
  floor = 0,
  unbackedFooter = false,
): TailState {
  const base = tail.number * chunkSize;
  const capacityEnd = dataCapacityEnd(chunkSize);
  const resume = cp.durableEnd > base + CHUNK_HEADER_SIZE && cp.durableEnd <= base + capacityEnd;
  const begin = resume ? cp.durableEnd - base : CHUNK_HEADER_SIZE;
  const from = Math.floor(begin / 4096) * 4096;
  let length = Math.min(capacityEnd - from, INITIAL_WINDOW);
  let w: Walk;
  for (;;) {
    const img = readExactly(tail.fd, length, from);
    if (!img) throw new CorruptionError(`chunk ${tail.file} at offset ${from}: chunk shorter than its size`);
    w = walkTail(img, begin - from, from + length === capacityEnd, resume ? cp.generation : 0, resume ? cp.tailChecksum : 0);
    if (w.wanted === undefined) break;
    length = Math.min(capacityEnd - from, Math.max(w.wanted, length * 4));
  }
  const state: TailState = {
    writeOffset: from + w.committedEnd,
    recordCount: (resume ? cp.tailRecords : 0) + w.committedRecords,
    dataChecksum: w.checksum,
    lastGeneration: w.generation,
    damaged: w.damaged.map((d) => from + d).filter((d) => d < from + w.committedEnd),
  };
  // The index covers only durable records: a log that ends below it lost some (damage, not a torn
  // tail). A writable open refuses before it changes anything; a read-only one serves the rest.
  if (!readOnly && state.writeOffset < floor) {
    throw new CorruptionError(
      `chunk ${tail.file} at offset ${state.writeOffset}: the log's records end here (${w.stop}), below what the index covers (offset ${floor}): records are missing; nothing is cut`,
      false,
      tail.number * chunkSize + state.writeOffset,
    );
  }
  if (w.torn) {
    state.torn = { offset: state.writeOffset, discardedBytes: w.stopOffset - w.committedEnd, reason: w.stop };
  } else if (unbackedFooter) {
    state.torn = { offset: state.writeOffset, discardedBytes: CHUNK_FOOTER_SIZE, reason: UNBACKED_FOOTER };
  }
  if (state.torn && !readOnly) tail.cutAt(state.writeOffset);
  return state;
}
