/**
 * File-system steps whose durability the store relies on, in one place for the JS side (the
 * native side's are in native/file_util.cc). A new directory entry (a file renamed into place, a
 * directory created) survives a power cut only once its parent directory is synced; on a file
 * system without a journal's ordering, a store directory created without that sync can vanish
 * whole, its acknowledged appends with it.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Syncs a directory's entries. Windows cannot open a directory for syncing and needs no such
 * step (NTFS journals its metadata): there it does nothing. */
export function fsyncDirectory(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
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
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    fsyncDirectory(path.dirname(d));
  }
}
