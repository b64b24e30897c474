/**
 * Rewrites one sealed chunk without the frames of events no read may return (scavenge.ts decides
 * which): one pass over the chunk's frames (through the log both engines are read by, so a chunk
 * scavenged before is read through its map), surviving frames copied byte for byte into a temp file
 * with their logical offsets in a position map (lib/format/scavenged-chunk.ts).
 *
 * The swap, crash-safe at every step: the temp file `NNNNNNNN.chunk.scavenge.tmp` is written whole
 * and fdatasynced, renamed over the chunk, and the directory synced; the log adopts the new file in
 * the same synchronous step as the rename. A crash before the rename leaves the old chunk and a temp
 * file the next writable open removes (both engines remove `*.tmp` in chunks/); after it, the new
 * file is complete on disk, so whichever directory entry survives names a whole chunk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readExactly, writeFully } from './engine/js-chunk-file.js';
import type { ScavengedChunkFile } from './engine/scavenged-chunk-file.js';
import type { ScavengeAwareLog } from './engine/scavenged-log.js';
import { CorruptionError } from './errors.js';
import { crc32c } from './format/crc32c.js';
import { CHUNK_FOOTER_SIZE, CHUNK_HEADER_SIZE, chunkFileName } from './format/layout.js';
import { decodeRetentionFields } from './format/record-codec.js';
import { chainFrameChecksum } from './format/record-scanner.js';
import { encodePositionMap, encodeScavengedFooter, POSMAP_ENTRY_SIZE, runsOf } from './format/scavenged-chunk.js';
import { fsyncDirectory, replaceFile } from './fs-durable.js';
import { scanBlocks } from './log-reader.js';

/** Surviving frames gathered before one write. */
const BATCH_BYTES = 1 << 20;
/** Frame bytes examined between two yields to the event loop: bounds how long appends and reads
 * wait behind a scavenge. */
const YIELD_BYTES = 64 << 10;
/** Bytes of the temp file written between two fdatasyncs of it (see the scan loop). */
const SYNC_EVERY_BYTES = 2 << 20;

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
}

/** Steps of a chunk's swap, named for the crash tests (scavenge.ts scavengeSteps). */
export type ScavengeStep = 'examined' | 'written' | 'synced' | 'renamed' | 'dir-synced' | 'adopted';

export interface ChunkScavenge {
  /** Bytes of frames (and of a previous map) before and after. */
  before: number;
  after: number;
  removed: number;
  rewritten: boolean;
  /** A damaged frame was met: the chunk is left as it is. */
  damaged: boolean;
}

export interface RewriteDeps {
  log: ScavengeAwareLog;
  /** Whether the event stays (read rules at the scavenge's start). */
  keep(streamId: string, version: number, timestamp: number, position: number): boolean;
  /** After the pass, before anything is swapped: the version floors of streams whose last event
   * goes are made durable (an index rebuilt from the log would not know their versions). */
  secureVersions(): Promise<void>;
  /** Between batches: yields to the event loop; true when the scavenge is to stop. */
  pace(): Promise<boolean>;
  step(step: ScavengeStep, chunk: number): void;
  /** Before the new file is renamed into place (records the directory rebuild it owes). */
  beforeSwap(chunk: number): void;
}

class Output {
  readonly logical: number[] = [];
  readonly offsets: number[] = [];
  private pending = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  end = CHUNK_HEADER_SIZE;
  checksum = 0;
  constructor(readonly fd: number) {}

  add(bytes: Buffer, off: number, len: number, logical: number): void {
    if (this.used + len > this.pending.length) this.drain();
    if (len > this.pending.length) this.pending = Buffer.allocUnsafe(len);
    bytes.copy(this.pending, this.used, off, off + len);
    this.checksum = chainFrameChecksum(this.checksum, this.pending, this.used);
    this.used += len;
    this.logical.push(logical);
    this.offsets.push(this.end);
    this.end += len;
  }

  drain(): void {
    if (this.used === 0) return;
    writeFully(this.fd, this.pending.subarray(0, this.used), this.end - this.used);
    this.used = 0;
  }
}

/** Scavenges chunk `n` (sealed); the log must not be appended into it. Undefined: stopped. */
export async function scavengeChunk(d: RewriteDeps, n: number): Promise<ChunkScavenge | undefined> {
  const { log } = d;
  const file = path.join(log.dir, chunkFileName(n));
  const tmp = `${file}.scavenge.tmp`;
  const previous = log.scavengedChunk(n);
  const result: ChunkScavenge = {
    before: previous ? previous.footer.runs * POSMAP_ENTRY_SIZE : 0,
    after: 0,
    removed: 0,
    rewritten: false,
    damaged: false,
  };
  const fd = fs.openSync(tmp, 'w+');
  let renamed = false;
  try {
    fs.ftruncateSync(fd, log.chunkSize);
    const out = new Output(fd);
    if (!(await examine(d, n, out, result))) return undefined;
    d.step('examined', n);
    if (result.removed === 0 || result.damaged) {
      result.after = result.before;
      return result;
    }
    await d.secureVersions();
    const mapBytes = finishFile(log, file, out, previous);
    d.step('written', n);
    await fdatasync(fd);
    d.step('synced', n);
    if (await d.pace()) return undefined;
    d.beforeSwap(n);
    // Rename and adoption in one synchronous step: no read runs between them.
    replaceFile(tmp, file);
    renamed = true;
    d.step('renamed', n);
    fsyncDirectory(log.dir);
    d.step('dir-synced', n);
    log.adopt(n, { logical: Uint32Array.from(out.logical), offsets: Uint32Array.from(out.offsets) });
    d.step('adopted', n);
    result.after = out.end - CHUNK_HEADER_SIZE + mapBytes;
    result.rewritten = true;
    return result;
  } finally {
    fs.closeSync(fd);
    if (!renamed) fs.rmSync(tmp, { force: true });
  }
}

/** One pass over chunk `n`'s frames: survivors into `out`, the rest counted. False: stopped. */
async function examine(d: RewriteDeps, n: number, out: Output, result: ChunkScavenge): Promise<boolean> {
  const base = n * d.log.chunkSize;
  let sinceYield = 0;
  let drained = 0;
  let synced = 0;
  const onDamaged = () => {
    result.damaged = true;
  };
  for (const { bytes, positions } of scanBlocks(d.log, base + CHUNK_HEADER_SIZE, () => base + d.log.chunkSize, onDamaged)) {
    for (let off = 0, i = 0; off < bytes.length; off += bytes.readUInt32LE(off), i++) {
      const len = bytes.readUInt32LE(off);
      const position = positions[i] as number;
      if (keepFrame(d, bytes, off, position)) out.add(bytes, off, len, position - base);
      else result.removed++;
      // A turn of the event loop every few hundred frames: a sync append needs two turns (its
      // write, then its flush's settling), so the length of this stretch bounds their rate.
      sinceYield += len;
      if (sinceYield >= YIELD_BYTES) {
        sinceYield = 0;
        if (await d.pace()) return false;
      }
    }
    result.before += bytes.length;
    if (out.end - drained >= BATCH_BYTES) {
      drained = out.end;
      out.drain();
      // Dirty pages of the temp file are written out as they accrue, off the event loop: an
      // append's fdatasync may otherwise wait behind the whole file's writeback (a journal commit
      // of ext4's ordered mode writes every dirty allocated block first).
      if (out.end - synced >= SYNC_EVERY_BYTES) {
        synced = out.end;
        await fdatasync(out.fd);
      }
    }
  }
  return true;
}

/** Writes the rest of the temp file: the last frames, the run map, the header and the footer;
 * returns the map's size. */
function finishFile(log: ScavengeAwareLog, file: string, out: Output, previous: ScavengedChunkFile | undefined): number {
  const chunkSize = log.chunkSize;
  out.drain();
  const runs = runsOf(out.logical, out.offsets);
  const map = encodePositionMap(runs.logical, runs.offsets, runs.logical.length);
  writeFully(out.fd, map, out.end);
  writeFully(out.fd, readHeader(file), 0);
  const footer = encodeScavengedFooter({
    runs: runs.logical.length,
    mapOffset: out.end,
    logicalEnd: previous ? previous.logicalEnd : logicalEndOf(file, chunkSize),
    mapChecksum: crcOf(map),
    dataChecksum: out.checksum,
    originalRecords: previous ? previous.footer.originalRecords : originalRecordsOf(file, chunkSize),
  });
  writeFully(out.fd, footer, chunkSize - CHUNK_FOOTER_SIZE);
  return map.length;
}

function keepFrame(d: RewriteDeps, bytes: Buffer, off: number, position: number): boolean {
  try {
    const f = decodeRetentionFields(bytes, off, position);
    return d.keep(f.streamId, f.version, f.timestamp, position);
  } catch (err) {
    // A record whose body does not decode is kept as it is (it is refused when read).
    if (err instanceof CorruptionError) return true;
    throw err;
  }
}

function crcOf(b: Buffer): number {
  return crc32c(b, 0, 0, b.length);
}

function readAt(file: string, length: number, offset: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = readExactly(fd, length, offset);
    if (!b) throw new CorruptionError(`chunk ${file}: too short`);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

function readHeader(file: string): Buffer {
  return readAt(file, CHUNK_HEADER_SIZE, 0);
}

/** The data end of an ordinary sealed chunk (its footer's). */
function logicalEndOf(file: string, chunkSize: number): number {
  return readAt(file, CHUNK_FOOTER_SIZE, chunkSize - CHUNK_FOOTER_SIZE).readUIntLE(16, 6);
}

function originalRecordsOf(file: string, chunkSize: number): number {
  return readAt(file, CHUNK_FOOTER_SIZE, chunkSize - CHUNK_FOOTER_SIZE).readUInt32LE(12);
}
