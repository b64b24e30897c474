/**
 * The follower side of the JS engine (twin of native/chunk_log_follow.cc, which explains the
 * rules): a read-only log catching up with the writer of the same directory. The end moves only
 * to the position the writer's checkpoint says is durable, and only over frames checked whole
 * (length, CRC, kind, a COMMIT at the end); at damage, up to the last whole append before it.
 *
 * Frames are read in windows (FOLLOW_WINDOW, doubled while one append does not fit), so catching
 * up over a whole chunk never holds the chunk in memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  CHECKPOINT_FILE,
  CHECKPOINT_SIZE,
  CHUNK_FOOTER_SIZE,
  CHUNK_HEADER_SIZE,
  dataCapacityEnd,
  decodeCheckpoint,
} from '../format/layout.js';
import { scanFrames } from '../format/record-scanner.js';
import { JsChunkFile, readExactly } from './js-chunk-file.js';
import type { FollowReport } from './log-engine.js';

const FOLLOW_WINDOW = 4 << 20;

/** The part of the JS log's state Follow moves: its chunks and the tail's end of data. */
export interface FollowedLog {
  dir: string;
  chunkSize: number;
  chunks: JsChunkFile[];
  writeOffset: number;
  endPosition(): number;
}

/** The writer's durable end from its checkpoint; undefined when there is none or it is being
 * rewritten (its CRC fails: the next call reads it whole). */
function checkpointEnd(dir: string): number | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path.join(dir, CHECKPOINT_FILE), 'r');
  } catch {
    return undefined;
  }
  try {
    const raw = readExactly(fd, CHECKPOINT_SIZE, 0);
    return (raw && decodeCheckpoint(raw))?.durableEnd;
  } finally {
    fs.closeSync(fd);
  }
}

/** Where the whole appends of `chunk` in [from, to) end: `to` when all are valid. */
function validEnd(chunk: JsChunkFile, from: number, to: number): number {
  let at = from;
  let window = FOLLOW_WINDOW;
  while (at < to) {
    const end = Math.min(to, at + window);
    const img = readExactly(chunk.fd, end - at, at);
    if (!img) return at;
    const r = scanFrames(img, 0, end - at, 0);
    if (r.committedEnd > 0) {
      at += r.committedEnd;
      window = FOLLOW_WINDOW;
    } else if (end < to) {
      window *= 2; // one append larger than the window
    } else {
      return at;
    }
  }
  return at;
}

function damagedAt(log: FollowedLog, chunk: JsChunkFile, offset: number): FollowReport {
  return {
    endPosition: log.endPosition(),
    damaged: chunk.number * log.chunkSize + offset,
    error: `chunk ${chunk.file} at offset ${offset}: damaged record below the writer's checkpoint`,
  };
}

/** Moves past the tail chunk once the writer sealed it; a report when it cannot. */
function sealTail(log: FollowedLog): FollowReport | undefined {
  const tail = log.chunks[log.chunks.length - 1] as JsChunkFile;
  if (!tail.sealed) {
    const sealed = JsChunkFile.open(log.dir, tail.number, log.chunkSize, false, true);
    const dataEnd = sealed.footer?.dataEnd ?? -1;
    if (!sealed.sealed || dataEnd < log.writeOffset || dataEnd > dataCapacityEnd(log.chunkSize)) {
      sealed.close();
      const where = `chunk ${tail.file} at offset ${log.chunkSize - CHUNK_FOOTER_SIZE}`;
      return { endPosition: log.endPosition(), damaged: 0, error: `${where}: chunk is not the last one but has no valid footer` };
    }
    const end = validEnd(sealed, log.writeOffset, dataEnd);
    if (end !== dataEnd) {
      sealed.close();
      log.writeOffset = end;
      return damagedAt(log, tail, end);
    }
    sealed.release();
    tail.close();
    log.chunks[log.chunks.length - 1] = sealed;
  }
  log.chunks.push(JsChunkFile.open(log.dir, tail.number + 1, log.chunkSize, false, true));
  log.writeOffset = CHUNK_HEADER_SIZE;
  return undefined;
}

/** Catches the read-only log up with the writer's checkpoint (see the file's header). */
export function followWriter(log: FollowedLog): FollowReport {
  const known = log.endPosition();
  const target = checkpointEnd(log.dir);
  if (target === undefined || target <= known) return { endPosition: known, damaged: 0, error: '' };
  const offset = target % log.chunkSize;
  if (offset < CHUNK_HEADER_SIZE || offset > dataCapacityEnd(log.chunkSize)) {
    return { endPosition: known, damaged: 0, error: `writer checkpoint names position ${target}, which no frame can end at` };
  }
  const targetChunk = Math.floor(target / log.chunkSize);
  if (log.chunks.length === 0) {
    log.chunks.push(JsChunkFile.open(log.dir, 0, log.chunkSize, false, true));
    log.writeOffset = CHUNK_HEADER_SIZE;
  }
  while ((log.chunks[log.chunks.length - 1] as JsChunkFile).number < targetChunk) {
    const stopped = sealTail(log);
    if (stopped) return stopped;
  }
  const tail = log.chunks[log.chunks.length - 1] as JsChunkFile;
  const end = validEnd(tail, log.writeOffset, offset);
  log.writeOffset = end;
  return end === offset ? { endPosition: log.endPosition(), damaged: 0, error: '' } : damagedAt(log, tail, end);
}
