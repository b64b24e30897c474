/**
 * Reads the records that test/powerloss/trace.c appends to its trace file (keep the layouts in
 * step): a 72-byte header, then the path, a second path and the data written.
 */
import fs from 'node:fs';

export const Op = {
  open: 1,
  close: 2,
  write: 3,
  trunc: 4,
  fallocate: 5,
  syncBegin: 6,
  syncEnd: 7,
  rename: 8,
  unlink: 9,
  rmdir: 10,
  mkdir: 11,
  link: 12,
  dup: 13,
  syncAllBegin: 14,
  syncAllEnd: 15,
  raw: 16,
  truncPath: 17,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

/** Sync flags: which call, and whether POWERLOSS_DROP_SYNC_GLOB dropped it. */
export const SYNC_FSYNC = 1;
export const SYNC_DATA = 2;
export const SYNC_DROPPED = 4;

export interface TraceRecord {
  /** Place in the trace: a cut "at k" keeps records 0..k-1. */
  index: number;
  op: OpCode;
  pid: number;
  tid: number;
  fd: number;
  fd2: number;
  result: number;
  offset: number;
  length: number;
  flags: number;
  mode: number;
  path: string;
  path2: string;
  /** The bytes written; undefined when they were all zero (`length` of them). */
  data: Buffer | undefined;
}

const HEADER = 72;
const MAGIC = 0x52544c50;

export function readTrace(file: string): TraceRecord[] {
  const b = fs.readFileSync(file);
  const out: TraceRecord[] = [];
  for (let at = 0; at < b.length; ) {
    if (b.length - at < HEADER || b.readUInt32LE(at) !== MAGIC) throw new Error(`trace ${file}: bad record at byte ${at}`);
    const pathLen = b.readUInt32LE(at + 56);
    const path2Len = b.readUInt32LE(at + 60);
    const dataLen = b.readUInt32LE(at + 64);
    const zero = b.readUInt32LE(at + 68) !== 0;
    let p = at + HEADER;
    const path = b.toString('utf8', p, p + pathLen);
    p += pathLen;
    const path2 = b.toString('utf8', p, p + path2Len);
    p += path2Len;
    const data = zero ? undefined : b.subarray(p, p + dataLen);
    out.push({
      index: out.length,
      op: b.readUInt32LE(at + 4) as OpCode,
      pid: b.readUInt32LE(at + 8),
      tid: b.readUInt32LE(at + 12),
      fd: b.readInt32LE(at + 16),
      fd2: b.readInt32LE(at + 20),
      result: Number(b.readBigInt64LE(at + 24)),
      offset: Number(b.readBigInt64LE(at + 32)),
      length: Number(b.readBigUInt64LE(at + 40)),
      flags: b.readUInt32LE(at + 48),
      mode: b.readUInt32LE(at + 52),
      path,
      path2,
      data,
    });
    at = p + dataLen;
  }
  return out;
}

/** What a trace exercised, counted from its records. */
export interface TraceSummary {
  records: number;
  sessions: number;
  chunkWrites: number;
  chunkSyncs: number;
  newChunks: number;
  segmentBuilds: number;
  segmentMerges: number;
  snapshots: number;
  checkpointWrites: number;
  directorySyncs: number;
  droppedSyncs: number;
}

export function summarize(records: TraceRecord[]): TraceSummary {
  const s: TraceSummary = {
    records: records.length,
    sessions: new Set(records.map((r) => r.pid)).size,
    chunkWrites: 0,
    chunkSyncs: 0,
    newChunks: 0,
    segmentBuilds: 0,
    segmentMerges: 0,
    snapshots: 0,
    checkpointWrites: 0,
    directorySyncs: 0,
    droppedSyncs: 0,
  };
  const covered = new Map<string, number>(); // segment kind -> end of the log range built so far
  for (const r of records) {
    const name = r.path.slice(r.path.lastIndexOf('/') + 1);
    if (r.op === Op.write && /^\d{8}\.chunk$/.test(name)) s.chunkWrites++;
    if (r.op === Op.write && name === 'writer.chk') s.checkpointWrites++;
    if (r.op === Op.syncBegin && r.flags & SYNC_DROPPED) s.droppedSyncs++;
    if (r.op !== Op.syncEnd || !(r.flags & SYNC_DROPPED)) {
      if (r.op === Op.syncEnd && /^\d{8}\.chunk$/.test(name)) s.chunkSyncs++;
      if (r.op === Op.syncEnd && !name.includes('.')) s.directorySyncs++;
    }
    if (r.op !== Op.rename) continue;
    if (name.endsWith('.chunk.tmp')) s.newChunks++;
    if (name.endsWith('.snap.tmp')) s.snapshots++;
    const seg = /^(\w+)-([0-9a-f]+)-([0-9a-f]+)\.seg\.tmp$/.exec(name);
    if (!seg) continue;
    const [kind, from, to] = [seg[1] as string, Number.parseInt(seg[2] as string, 16), Number.parseInt(seg[3] as string, 16)];
    // A build starts where the last one ended; a merge starts before, over segments it replaces.
    if (from < (covered.get(kind) ?? 0)) s.segmentMerges++;
    else s.segmentBuilds++;
    covered.set(kind, Math.max(covered.get(kind) ?? 0, to));
  }
  return s;
}
