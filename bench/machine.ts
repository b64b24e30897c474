/**
 * The machine's own limits, measured in the same run as the store so the ratios mean something on a
 * shared, noisy machine: sequential write bandwidth with fdatasync, and small appends each followed
 * by fdatasync (the ceiling for one-at-a-time durable appends).
 */
import fs from 'node:fs';
import path from 'node:path';

export interface DiskLimits {
  seqWriteMBps: number;
  appendFsyncOps: number;
  overwriteFsyncOps: number;
}

export function measureDisk(dir: string, quick: boolean): DiskLimits {
  const file = path.join(dir, 'disk-probe');
  const block = Buffer.alloc(1 << 20, 0x5a);
  const total = quick ? 64 : 256;
  let fd = fs.openSync(file, 'w');
  let t = performance.now();
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
  const rate = (extend: boolean): number => {
    fd = fs.openSync(file, 'w');
    if (!extend) {
      fs.writeSync(fd, Buffer.alloc(16 << 20));
      fs.fdatasyncSync(fd);
    }
    let n = 0;
    t = performance.now();
    while (performance.now() - t < seconds * 1000) {
      fs.writeSync(fd, small, 0, small.length, extend ? null : n * 200);
      fs.fdatasyncSync(fd);
      n++;
    }
    const ops = n / ((performance.now() - t) / 1000);
    fs.closeSync(fd);
    fs.rmSync(file);
    return ops;
  };
  return { seqWriteMBps, appendFsyncOps: rate(true), overwriteFsyncOps: rate(false) };
}
