/**
 * Turns positions and log ranges into RecordedEvents: one engine call per batch of positions or per
 * block of the global log, then a decode per frame (the one step that must create JS objects).
 */

import type { LogEngine, ScanBlock } from './engine/log-engine.js';
import { withoutRemoved } from './engine/scavenged-log.js';
import { CorruptionError } from './errors.js';
import { JsonBatch } from './format/json-batch.js';
import { u32 } from './format/le-bytes.js';
import { decodeEvent } from './format/record-decode.js';
import type { RecordedEvent } from './types.js';

const SCAN_BLOCK_BYTES = 1 << 20;

/** Told of each damaged record a salvaging read skips: its position and the error reading it gave. */
export type DamageHandler = (position: number, error: CorruptionError) => void;

/** Walks the frames of a buffer of concatenated frames, with the position of each. */
export function* framesOf(bytes: Buffer, positions?: ArrayLike<number>, firstPosition = 0): Generator<[number, number]> {
  let off = 0;
  let i = 0;
  while (off < bytes.length) {
    const len = bytes.readUInt32LE(off);
    yield [off, positions ? (positions[i] as number) : firstPosition + off];
    off += len;
    i++;
  }
}

/** Decoding is synchronous and never re-entered: one batch serves every read. */
const json = new JsonBatch();

export function readAt(engine: LogEngine, all: number[]): RecordedEvent[] {
  // Index entries may still name events a scavenge removed: they read as no event.
  const positions = withoutRemoved(engine, all);
  if (positions.length === 0) return [];
  const bytes = engine.readFrames(positions);
  const identity = engine.identity();
  // One event (a point read) has nothing to parse with.
  if (positions.length === 1) return [decodeEvent(bytes, 0, positions[0] as number, identity)];
  const out: RecordedEvent[] = [];
  decodeFrames(bytes, 0, positions, 0, positions.length, identity, out);
  return out;
}

/**
 * Decodes the frames of `bytes` (their positions in `positions`) from offset `off`, at most `max`
 * events, into `out`; returns the offset after the last one decoded.
 */
export function decodeFrames(
  bytes: Buffer,
  off: number,
  positions: number[],
  first: number,
  max: number,
  identity: number,
  out: RecordedEvent[],
): number {
  let i = first;
  try {
    for (let n = 0; n < max && off < bytes.length; n++, i++) {
      out.push(decodeEvent(bytes, off, positions[i] as number, identity, json));
      off += u32(bytes, off);
    }
    json.flush();
  } finally {
    json.clear();
  }
  return off;
}

/**
 * Blocks of the global log from `from` (a frame position or a chunk's first data offset) up to
 * `limit()`, re-read at each block so a long iteration sees what was appended meanwhile. A damaged
 * frame throws CorruptionError, or with `onDamaged` is reported and skipped (engine.skipDamaged).
 */
export function* scanBlocks(
  engine: LogEngine,
  from: number,
  limit: () => number,
  onDamaged?: DamageHandler,
): Generator<{ bytes: Buffer; positions: number[]; next: number }> {
  let position = from;
  for (;;) {
    let block: ScanBlock;
    try {
      block = engine.scan(position, limit(), SCAN_BLOCK_BYTES);
    } catch (err) {
      // A scan stops before a damaged frame and throws on the next call: salvaging, the damage is
      // reported and the scan goes on after it.
      if (!onDamaged || !(err instanceof CorruptionError) || err.position === undefined) throw err;
      const after = engine.skipDamaged(err.position);
      if (after <= err.position) throw err;
      onDamaged(err.position, err);
      position = after;
      continue;
    }
    const { bytes, next } = block;
    if (bytes.length === 0) return;
    let positions = block.positions;
    if (!positions) {
      // Contiguous frames: each one's position is the block's start plus its offset.
      const base = next - bytes.length;
      positions = [];
      for (let off = 0; off < bytes.length; off += bytes.readUInt32LE(off)) positions.push(base + off);
    }
    yield { bytes, positions, next };
    position = next;
  }
}
