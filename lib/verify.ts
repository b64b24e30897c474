/**
 * A full check of a store directory, independent of either engine: every chunk header and footer,
 * every record's CRC (resynchronising after a damaged one so that every fault is found, not just the
 * first), every index segment page, Bloom filter and entry (checked against the record it points
 * at), the chain of segments, and every snapshot. Reads files directly; run it on a closed store or
 * beside a writer (it reads what is durable).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError, toAnnalsError } from './errors.js';
import { crc32c } from './format/crc32c.js';
import {
  decodeSegmentHeader,
  ENTRY_KEY_HI_OFFSET,
  ENTRY_SEQ_OFFSET,
  entryPositionOffset,
  entrySize,
  leafCapacity,
  SEGMENT_KIND_COMMAND,
  SEGMENT_KIND_STREAM,
  SEGMENT_PAGE_SIZE,
  viewSeq,
} from './format/index-layout.js';
import {
  CHECKPOINT_FILE,
  CHUNK_FOOTER_SIZE,
  CHUNK_HEADER_SIZE,
  chunkHeaderIdentity,
  chunkHeaderValid,
  dataCapacityEnd,
  decodeCheckpoint,
  decodeChunkFooter,
  FRAME_FLAG_COMMIT,
  FRAME_HEADER_SIZE,
  isEventKind,
} from './format/layout.js';
import { decodeIndexFields, derivesId } from './format/record-decode.js';
import { chainFrameChecksum } from './format/record-scanner.js';
import { isScavengedFooter } from './format/scavenged-chunk.js';
import { KINDS } from './index/segment-catalog.js';
import { logClaims } from './log-completeness.js';
import { checkStoreDir } from './store-dir.js';
import { verifyDirectories } from './verify-directories.js';
import { RecordKeys } from './verify-records.js';
import { verifyScavengedChunk } from './verify-scavenged.js';

export interface VerifyFault {
  file: string;
  offset: number;
  problem: string;
}

export interface VerifyReport {
  ok: boolean;
  chunks: number;
  records: number;
  segments: number;
  indexEntries: number;
  snapshots: number;
  faults: VerifyFault[];
}

export interface VerifyOptions {
  chunkSize?: number;
  /** Called with bytes checked and bytes in all, as the check goes. */
  onProgress?: (done: number, total: number) => void;
}

function frameOk(b: Buffer, off: number, end: number): number {
  if (end - off < FRAME_HEADER_SIZE) return 0;
  const len = b.readUInt32LE(off);
  if (len < FRAME_HEADER_SIZE || len > end - off || !isEventKind(b[off + 8]) || (b[off + 9] as number) > 1) return 0;
  if (b.readUInt16LE(off + 10) !== 0 || b.readUInt32LE(off + 4) !== crc32c(b, 0, off + 8, off + len)) return 0;
  return len;
}

/** A full check of the store in `dir` (see VerifyReport). A file it cannot read is not a fault of
 * the store: it throws the documented error (PERMISSION_DENIED, IO) naming the file. */
export function verifyStore(dir: string, options: VerifyOptions = {}): VerifyReport {
  checkStoreDir(dir, false);
  try {
    return verifyChecked(dir, options);
  } catch (err) {
    throw toAnnalsError(err, `cannot verify the store at ${dir}: `);
  }
}

function verifyChecked(dir: string, options: VerifyOptions): VerifyReport {
  const report: VerifyReport = { ok: true, chunks: 0, records: 0, segments: 0, indexEntries: 0, snapshots: 0, faults: [] };
  const fault = (file: string, offset: number, problem: string) => report.faults.push({ file, offset, problem });
  const chunksDir = path.join(dir, 'chunks');
  const names = fs.existsSync(chunksDir)
    ? fs
        .readdirSync(chunksDir)
        .filter((n) => /^\d{8}\.chunk$/.test(n))
        .sort()
    : [];
  const files = names.map((n) => path.join(chunksDir, n));
  const chunkSize = options.chunkSize ?? (files[0] ? fs.statSync(files[0]).size : 0);
  const total = files.reduce((a, f) => a + fs.statSync(f).size, 0);
  let done = 0;
  const raw = fs.existsSync(path.join(chunksDir, CHECKPOINT_FILE)) ? fs.readFileSync(path.join(chunksDir, CHECKPOINT_FILE)) : undefined;
  const checkpoint = raw && decodeCheckpoint(raw);
  if (raw && !checkpoint) fault(path.join(chunksDir, CHECKPOINT_FILE), 0, 'invalid checkpoint');
  const records = new RecordKeys();
  const missing = chunkSize > 0 ? logClaims(dir, chunkSize).missing : undefined;
  if (missing) fault(missing.file, 0, missing.message);
  let storeIdentity = 0;
  const scavenged = new Set<number>();
  names.forEach((name, n) => {
    const file = files[n] as string;
    report.chunks++;
    if (Number(name.slice(0, 8)) !== n) fault(file, 0, `chunk ${n} is missing (found ${name})`);
    const b = fs.readFileSync(file);
    if (b.length !== chunkSize || !chunkHeaderValid(b, n, chunkSize)) {
      fault(file, 0, 'invalid chunk header or size');
      return;
    }
    // The first chunk with an identity fixes the store's; every later chunk copies it.
    const identity = chunkHeaderIdentity(b);
    if (identity !== 0 && storeIdentity !== 0 && identity !== storeIdentity) {
      fault(file, 40, `store identity ${identity} differs from the earlier chunks' ${storeIdentity}`);
    }
    if (identity === 0 && storeIdentity !== 0) fault(file, 8, 'chunk has no store identity, but an earlier chunk has one');
    if (storeIdentity === 0) storeIdentity = identity;
    const last = n === names.length - 1;
    if (isScavengedFooter(b.subarray(chunkSize - CHUNK_FOOTER_SIZE))) {
      if (last) fault(file, chunkSize - CHUNK_FOOTER_SIZE, 'the last chunk is a scavenged one');
      scavenged.add(n);
      report.records += verifyScavengedChunk({ b, file, n, chunkSize, identity, records, frameOk, fault });
      done += b.length;
      options.onProgress?.(done, total);
      return;
    }
    const footer = decodeChunkFooter(b.subarray(chunkSize - CHUNK_FOOTER_SIZE));
    if (!footer && !last) fault(file, chunkSize - CHUNK_FOOTER_SIZE, 'not the last chunk but has no valid footer');
    // The tail chunk is checked up to what the checkpoint records as durable; beyond it lies at most
    // a torn, unacknowledged append that recovery cuts.
    const base = n * chunkSize;
    const durable =
      checkpoint && checkpoint.durableEnd > base ? Math.min(checkpoint.durableEnd - base, dataCapacityEnd(chunkSize)) : CHUNK_HEADER_SIZE;
    const end = footer ? footer.dataEnd : last ? durable : dataCapacityEnd(chunkSize);
    let off = CHUNK_HEADER_SIZE;
    let count = 0;
    let checksum = 0;
    let committed = true;
    while (off < end) {
      const len = frameOk(b, off, end);
      if (len === 0) {
        fault(file, off, 'damaged record');
        // Resynchronise: the next offset where a whole valid frame starts.
        let next = off + 1;
        while (next < end && frameOk(b, next, end) === 0) next++;
        off = next;
        continue;
      }
      checksum = chainFrameChecksum(checksum, b, off);
      try {
        const f = decodeIndexFields(b, off, base + off);
        records.add(base + off, f);
        if (identity === 0 && derivesId(b, off)) fault(file, off, 'record derives its id, but its chunk has no store identity');
      } catch (err) {
        if (!(err instanceof CorruptionError)) throw err;
        fault(file, off, 'damaged record body');
      }
      committed = ((b[off + 9] as number) & FRAME_FLAG_COMMIT) !== 0;
      count++;
      off += len;
    }
    report.records += count;
    if (!committed) fault(file, end, 'the durable data ends inside an append');
    if (footer && report.faults.every((x) => x.file !== file) && (footer.recordCount !== count || footer.dataChecksum !== checksum)) {
      fault(file, chunkSize - CHUNK_FOOTER_SIZE, 'footer record count or checksum does not match the records');
    }
    // Recovery resumes at the checkpoint with its record count and checksum as the seed: wrong
    // ones would go into the chunk's footer at its seal.
    const cpHere = !footer && last && checkpoint && checkpoint.durableEnd > base + CHUNK_HEADER_SIZE;
    if (
      cpHere &&
      report.faults.every((x) => x.file !== file) &&
      (checkpoint.tailRecords !== count || checkpoint.tailChecksum !== checksum)
    ) {
      fault(
        path.join(chunksDir, CHECKPOINT_FILE),
        24,
        "the checkpoint's record count or checksum of the tail chunk does not match its records",
      );
    }
    done += b.length;
    options.onProgress?.(done, total);
  });
  // An index entry of an event a scavenge removed: kept in segments, dropped by reads.
  const removed = (position: number) => scavenged.has(Math.floor(position / chunkSize));
  verifySegments(path.join(dir, 'index'), records, removed, report, fault);
  verifyDirectories(path.join(dir, 'index'), records, report, fault);
  verifySnapshots(path.join(dir, 'snapshots'), report, fault);
  report.ok = report.faults.length === 0;
  return report;
}

function verifySegments(
  dir: string,
  records: RecordKeys,
  removed: (position: number) => boolean,
  report: VerifyReport,
  fault: (file: string, offset: number, problem: string) => void,
): void {
  if (!fs.existsSync(dir)) return;
  const ranges: { kind: number; from: number; to: number; file: string }[] = [];
  const names = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort((a, b) => a.localeCompare(b));
  for (const name of names) {
    const file = path.join(dir, name);
    report.segments++;
    const b = fs.readFileSync(file);
    const h = decodeSegmentHeader(b.subarray(0, SEGMENT_PAGE_SIZE));
    if (!h || b.length < h.pageCount * SEGMENT_PAGE_SIZE) {
      fault(file, 0, 'invalid segment header or truncated file');
      continue;
    }
    if (crc32c(b, 0, h.bloomPage * SEGMENT_PAGE_SIZE, h.bloomPage * SEGMENT_PAGE_SIZE + h.bloomBytes) !== h.bloomCrc) {
      fault(file, h.bloomPage * SEGMENT_PAGE_SIZE, 'damaged Bloom filter');
    }
    for (let p = 1; p < h.bloomPage; p++) {
      const o = p * SEGMENT_PAGE_SIZE;
      if (b.readUInt32LE(o + 4) !== crc32c(b, 0, o + 8, o + SEGMENT_PAGE_SIZE)) fault(file, o, 'damaged page');
    }
    ranges.push({ kind: h.kind, from: h.fromPosition, to: h.toPosition, file });
    for (let leaf = 1; leaf <= h.leafCount; leaf++) {
      const o = leaf * SEGMENT_PAGE_SIZE;
      const count = Math.min(b.readUInt32LE(o), leafCapacity(h.kind));
      for (let i = 0; i < count; i++) {
        const e = o + 8 + i * entrySize(h.kind);
        const position = b.readUIntLE(e + entryPositionOffset(h.kind), 6);
        const r = records.find(position);
        report.indexEntries++;
        // Stream entries' seq is the version; category and type entries' the position's bucket.
        const seq = h.kind === SEGMENT_KIND_STREAM ? records.version[r] : h.kind === SEGMENT_KIND_COMMAND ? undefined : viewSeq(position);
        const matches =
          r >= 0 &&
          records.keyMatches(r, h.kind, b.readUInt16LE(e + ENTRY_KEY_HI_OFFSET), b.readUInt32LE(e)) &&
          (seq === undefined || seq === b.readUInt32LE(e + ENTRY_SEQ_OFFSET));
        if (r < 0 && removed(position) && position >= h.fromPosition && position < h.toPosition) continue;
        if (!matches || position < h.fromPosition || position >= h.toPosition) {
          fault(file, e, `index entry does not match the record at position ${position}`);
        }
      }
    }
  }
  // The segments of a kind must cover the log from its start without a gap.
  for (const kind of KINDS) {
    let expected = CHUNK_HEADER_SIZE;
    for (const r of ranges.filter((x) => x.kind === kind).sort((a, b) => a.from - b.from)) {
      if (r.from > expected) fault(r.file, 0, `no index segment covers log positions [${expected}, ${r.from})`);
      expected = Math.max(expected, r.to);
    }
  }
}

function verifySnapshots(dir: string, report: VerifyReport, fault: (file: string, offset: number, problem: string) => void): void {
  if (!fs.existsSync(dir)) return;
  for (const sub of fs.readdirSync(dir)) {
    for (const name of fs.readdirSync(path.join(dir, sub))) {
      if (!name.endsWith('.snap')) continue;
      const file = path.join(dir, sub, name);
      report.snapshots++;
      const b = fs.readFileSync(file);
      const ok =
        b.length >= 32 &&
        b.subarray(0, 8).toString('latin1') === 'ANNALSSN' &&
        b.readUInt32LE(24) === crc32c(b, 0, 0, 24) &&
        b.length === 28 + b.readUInt32LE(12) + b.readUInt32LE(20) + 4 &&
        b.readUInt32LE(b.length - 4) === crc32c(b, 0, 28, b.length - 4);
      if (!ok) fault(file, 0, 'damaged snapshot');
    }
  }
}
