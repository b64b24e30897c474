/**
 * The writer lock of a store directory. With the addon: flock(2) on `<dir>/LOCK` (see
 * native/dir_lock.h), which the kernel drops when the process dies. Without it (the JS engine on a
 * machine where the addon cannot load): `<dir>/LOCK.pid` created exclusively, holding our pid; a
 * file whose pid is no longer alive is stale and taken over. Both refuse a second open in the same
 * process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StoreLockedError, toAnnalsError } from './errors.js';
import { nativeAddon } from './native.js';

export interface HeldLock {
  release(): void;
}

const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function pidFileLock(file: string): HeldLock {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return { release: () => fs.rmSync(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw toAnnalsError(err);
      const pid = Number(fs.readFileSync(file, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new StoreLockedError(`the store is locked by process ${pid} (${file})`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new StoreLockedError(`could not take the lock ${file}`);
}

export function acquireDirLock(dir: string): HeldLock {
  const key = fs.realpathSync(dir);
  if (heldHere.has(key)) {
    throw new StoreLockedError(`the store is already open for writing in this process (${dir})`);
  }
  const addon = nativeAddon();
  let inner: HeldLock;
  try {
    inner = addon ? new addon.DirLock(path.join(dir, 'LOCK')) : pidFileLock(path.join(dir, 'LOCK.pid'));
  } catch (err) {
    throw toAnnalsError(err);
  }
  heldHere.add(key);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      heldHere.delete(key);
      inner.release();
    },
  };
}
