/**
 * What the JS side does with files that differs by OS, in one place (the native side's is
 * native/env_posix.cc and native/env_windows.cc), and the durability steps the store relies on.
 *
 * - Directory sync: a new directory entry (a file renamed into place, a directory created)
 *   survives a power cut only once its parent directory is synced; on a file system without a
 *   journal's ordering, a store directory created without that sync can vanish whole, its
 *   acknowledged appends with it. Windows cannot open a directory for syncing and needs no such
 *   step (NTFS journals its metadata); some file systems refuse it (EINVAL and the like): both
 *   skip it.
 * - Replacing and deleting: on Windows a file that another handle holds open without sharing
 *   delete, or that a process has mapped (a reader's index segment), cannot be replaced or
 *   deleted at once. Replacing retries for a short while; deleting moves the file aside under a
 *   `.tmp` name, which every store directory removes when it is next opened for writing.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const WINDOWS = process.platform === 'win32';
/** Codes of a directory sync the file system does not support: the step is skipped. */
const SYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EPERM', 'EACCES', 'EBADF']);
/** Codes Windows gives while another process holds the file. */
const HELD_ELSEWHERE = new Set(['EPERM', 'EACCES', 'EBUSY']);
const REPLACE_TRIES = 20;
const REPLACE_WAIT_MS = 25;

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Syncs a directory's entries, where the OS has such a step (see above). */
export function fsyncDirectory(dir: string): void {
  if (WINDOWS) return;
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch (err) {
    if (SYNC_UNSUPPORTED.has(errorCode(err) ?? '')) return;
    throw err;
  }
  try {
    fs.fsyncSync(fd);
  } catch (err) {
    if (!SYNC_UNSUPPORTED.has(errorCode(err) ?? '')) throw err;
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates `dir` and its missing parents, syncing each parent after the entry is made in it. */
export function mkdirDurable(dir: string): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing.push(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err;
    }
    fsyncDirectory(path.dirname(d));
  }
}

/** Renames `from` over `to` (atomically where the OS does so). On Windows, waits a little for a
 * handle elsewhere to let go before giving up with its error. */
export function replaceFile(from: string, to: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      fs.renameSync(from, to);
      return;
    } catch (err) {
      if (!WINDOWS || attempt >= REPLACE_TRIES || !HELD_ELSEWHERE.has(errorCode(err) ?? '')) throw err;
      sleepSync(REPLACE_WAIT_MS);
    }
  }
}

/** Deletes `file` if it exists. Where Windows refuses (the file is held or mapped elsewhere), it
 * is moved aside under a `.tmp` name for the next writable open to remove; failing that, left. */
export function removeFile(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch (err) {
    if (!WINDOWS || !HELD_ELSEWHERE.has(errorCode(err) ?? '')) throw err;
    try {
      fs.renameSync(file, `${file}.${crypto.randomBytes(4).toString('hex')}.deleted.tmp`);
    } catch {
      // Still there: the next open for writing tries again.
    }
  }
}
