/**
 * What a path must be before a store is opened or read there, said with the documented codes
 * rather than a raw `fs` error: NOT_A_STORE when it is missing (and not to be created), a file, or
 * a directory without the store's `chunks`; PERMISSION_DENIED when the process may not look; IO
 * otherwise. Each message names the path and the cause.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NotAStoreError, toAnnalsError } from './errors.js';

/** `p`'s stat, or 'ENOENT' / 'ENOTDIR'; any other failure is thrown, naming the store `dir`. */
function statOrCode(p: string, dir: string): fs.Stats | string {
  try {
    return fs.statSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return code;
    throw toAnnalsError(err, `cannot read the store at ${dir}: `);
  }
}

/**
 * Checks `dir` for a store. `create`: a missing directory is fine (the open creates it), an existing
 * one need not hold a store yet; otherwise it must hold one.
 */
export function checkStoreDir(dir: string, create: boolean): void {
  const st = statOrCode(dir, dir);
  if (st === 'ENOTDIR') throw new NotAStoreError(`no store at ${dir}: a part of the path is a file, not a directory`);
  if (st === 'ENOENT') {
    if (create) return;
    throw new NotAStoreError(`no store at ${dir}: no such directory`);
  }
  if (typeof st === 'string') return;
  if (!st.isDirectory()) throw new NotAStoreError(`no store at ${dir}: it is a file, not a directory`);
  const chunks = statOrCode(path.join(dir, 'chunks'), dir);
  if (typeof chunks !== 'string' && !chunks.isDirectory()) {
    throw new NotAStoreError(`no store at ${dir}: ${path.join(dir, 'chunks')} is a file, not the store's chunks directory`);
  }
  if (typeof chunks === 'string' && !create) {
    throw new NotAStoreError(`no store at ${dir}: the directory holds no chunks directory`);
  }
  // The store's files are listed at open: a directory the process cannot read or enter is refused
  // here, by name, instead of reading as an empty store.
  const listable = typeof chunks === 'string' ? dir : path.join(dir, 'chunks');
  try {
    fs.readdirSync(listable);
  } catch (err) {
    throw toAnnalsError(err, `cannot read the store at ${dir}: `);
  }
}

/** Bytes the store's chunk and index files take on disk (allocated blocks: holes are free). */
export function diskUsage(dir: string): number {
  return (
    filesOnDisk(dir, 'chunks').reduce((a, f) => a + f.bytesOnDisk, 0) + filesOnDisk(dir, 'index').reduce((a, f) => a + f.bytesOnDisk, 0)
  );
}

/** The files of one of the store's directories, in name order, with their allocated bytes. */
export function filesOnDisk(dir: string, sub: 'chunks' | 'index'): { file: string; bytesOnDisk: number }[] {
  const d = path.join(dir, sub);
  if (!fs.existsSync(d)) return [];
  const out: { file: string; bytesOnDisk: number }[] = [];
  // A segment build or merge may rename or remove a file between the listing and its stat.
  for (const file of fs.readdirSync(d).sort()) {
    const st = fs.statSync(path.join(d, file), { throwIfNoEntry: false });
    if (st) out.push({ file, bytesOnDisk: st.blocks * 512 });
  }
  return out;
}
