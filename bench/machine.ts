/**
 * The machine's own limits, measured in the same run as the store so the ratios mean something on a
 * shared, noisy machine: sequential write bandwidth with fdatasync, and small appends each followed
 * by fdatasync (the ceiling for one-at-a-time durable appends). The same appends with fdatasync on a
 * libuv worker thread (fs.fdatasync) show what keeping flushes off the event loop, as annals does,
 * costs on this machine by itself: the hand-off to the thread and back.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface DiskLimits {
  seqWriteMBps: number;
  appendFsyncOps: number;
  overwriteFsyncOps: number;
  /** Small appends each followed by fdatasync on a worker thread, awaited. */
  offLoopAppendFsyncOps: number;
}

export async function measureDisk(dir: string, quick: boolean): Promise<DiskLimits> {
  const file = path.join(dir, 'disk-probe');
  const block = Buffer.alloc(1 << 20, 0x5a);
  const total = quick ? 64 : 256;
  const fd = fs.openSync(file, 'w');
  const t = performance.now();
  for (let i = 0; i < total; i++) {
    fs.writeSync(fd, block);
    if (i % 16 === 15) fs.fdatasyncSync(fd);
  }
  fs.fdatasyncSync(fd);
  const seqWriteMBps = total / ((performance.now() - t) / 1000);
  fs.closeSync(fd);
  fs.rmSync(file);

  const small = Buffer.alloc(200, 0x61);
  const seconds = quick ? 1 : 3;
  // `extend`: append (else overwrite blocks already written); `offLoop`: fdatasync on a libuv
  // worker thread, awaited (else on the event loop).
  const rate = async (extend: boolean, offLoop: boolean): Promise<number> => {
    const f = fs.openSync(file, 'w');
    if (!extend) {
      fs.writeSync(f, Buffer.alloc(16 << 20));
      fs.fdatasyncSync(f);
    }
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < seconds * 1000) {
      fs.writeSync(f, small, 0, small.length, extend ? null : n * 200);
      if (offLoop) await new Promise<void>((resolve, reject) => fs.fdatasync(f, (err) => (err ? reject(err) : resolve())));
      else fs.fdatasyncSync(f);
      n++;
    }
    const ops = n / ((performance.now() - start) / 1000);
    fs.closeSync(f);
    fs.rmSync(file);
    return ops;
  };
  const appendFsyncOps = await rate(true, false);
  const overwriteFsyncOps = await rate(false, false);
  const offLoopAppendFsyncOps = await rate(true, true);
  return { seqWriteMBps, appendFsyncOps, overwriteFsyncOps, offLoopAppendFsyncOps };
}

/** Writes back every dirty page (sync(1)), so a timed flush does not queue behind the writeback of
 * data an earlier, unflushed step left in the page cache. */
export function syncFileSystems(): void {
  try {
    execFileSync('sync');
  } catch {
    // no sync(1): the figures after this may include writeback
  }
}
