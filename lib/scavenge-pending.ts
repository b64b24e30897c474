/**
 * The record of stream directory files a scavenge still owes a rebuild: `chunks/scavenge.pending`,
 * JSON `{ "ranges": [[from, to], ...] }` (log positions only, never an id). It is written durably
 * (temp file, fdatasync, rename, directory sync) before a rewritten chunk is renamed into place and
 * removed once the directory files over those ranges are rebuilt, so a crash in between leaves it
 * behind, and the next writable open rebuilds them (an erased stream's id must leave the index
 * files even when the process died right after the chunk swap).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDirectory, removeFile, replaceFile } from './fs-durable.js';

export const PENDING_FILE = 'scavenge.pending';

export type LogRange = [number, number];

export function readPending(chunksDir: string): LogRange[] {
  const file = path.join(chunksDir, PENDING_FILE);
  if (!fs.existsSync(file)) return [];
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { ranges?: unknown };
    const ranges = Array.isArray(parsed.ranges) ? parsed.ranges : [];
    return ranges.filter(
      (r): r is LogRange => Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && Number.isSafeInteger(r[1]) && r[0] < r[1],
    );
  } catch {
    // A damaged record (it is written whole, so only a damaged disk does this): every range.
    return [[0, Number.MAX_SAFE_INTEGER]];
  }
}

export function writePending(chunksDir: string, ranges: readonly LogRange[]): void {
  const file = path.join(chunksDir, PENDING_FILE);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, JSON.stringify({ ranges }));
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  replaceFile(tmp, file);
  fsyncDirectory(chunksDir);
}

export function clearPending(chunksDir: string): void {
  const file = path.join(chunksDir, PENDING_FILE);
  if (!fs.existsSync(file)) return;
  removeFile(file);
  fsyncDirectory(chunksDir);
}
