/**
 * Decoding the frames of a block of the global log that pass a filter (event-filter.ts): frames
 * that do not match are stepped over without decoding; runs of consecutive matches are decoded
 * together, so their JSON payloads are parsed at once as in an unfiltered read.
 */
import { CorruptionError } from './errors.js';
import type { FrameMatcher } from './event-filter.js';
import { u32 } from './format/le-bytes.js';
import { decodeEvent } from './format/record-decode.js';
import { type DamageHandler, decodeFrames } from './log-reader.js';
import type { RecordedEvent } from './types.js';

export interface BlockCursor {
  /** Offset of the next frame to examine in the block, and its index among the block's frames. */
  off: number;
  i: number;
}

/**
 * Examines the frames of `bytes` from `at`, adding the matching ones' events to `out` until it
 * holds `max` or the block ends; moves `at` past what it examined. A damaged frame throws
 * CorruptionError, or with `onDamaged` is reported and stepped over.
 */
export function decodeMatching(
  bytes: Buffer,
  positions: number[],
  at: BlockCursor,
  identity: number,
  match: FrameMatcher,
  max: number,
  out: RecordedEvent[],
  onDamaged?: DamageHandler,
): void {
  while (at.off < bytes.length && out.length < max) {
    const runOff = at.off;
    const runFirst = at.i;
    let run = 0;
    let skip = false;
    while (at.off < bytes.length && out.length + run < max) {
      const position = positions[at.i] as number;
      if (!matches(bytes, at.off, position, match, onDamaged)) {
        skip = true;
        break;
      }
      run++;
      at.off += u32(bytes, at.off);
      at.i++;
    }
    if (run > 0) decodeRun(bytes, runOff, positions, runFirst, run, identity, out, onDamaged);
    if (skip) {
      at.off += u32(bytes, at.off);
      at.i++;
    }
  }
}

/** Whether the frame matches; a damaged one does not (reported), or throws without onDamaged. */
function matches(bytes: Buffer, off: number, position: number, match: FrameMatcher, onDamaged?: DamageHandler): boolean {
  try {
    return match(bytes, off, position);
  } catch (err) {
    if (!onDamaged || !(err instanceof CorruptionError)) throw err;
    onDamaged(position, err);
    return false;
  }
}

function decodeRun(
  bytes: Buffer,
  off: number,
  positions: number[],
  first: number,
  count: number,
  identity: number,
  out: RecordedEvent[],
  onDamaged?: DamageHandler,
): void {
  const before = out.length;
  try {
    decodeFrames(bytes, off, positions, first, count, identity, out);
  } catch {
    // One at a time: the damaged one throws again, or is reported and left out.
    out.length = before;
    for (let k = 0; k < count; k++, off += u32(bytes, off)) {
      const position = positions[first + k] as number;
      try {
        out.push(decodeEvent(bytes, off, position, identity));
      } catch (err) {
        if (!onDamaged || !(err instanceof CorruptionError)) throw err;
        onDamaged(position, err);
      }
    }
  }
}
