/**
 * A backup: a consistent copy of a store, taken while it is in use, that opens as a store.
 *
 * Consistency rests on the log being append-only below its end: once the end is captured (after a
 * flush, at a transaction's end), no byte below it changes again, whatever is appended meanwhile.
 * So the copy is made of
 *   - snapshots first, each kept only when its version is one the stream has already reached (so
 *     every snapshot copied lies within the log copied after it);
 *   - the captured end `E`;
 *   - every chunk below E's chunk whole-data: header, frames up to its footer's data end, footer;
 *   - E's chunk up to E, unsealed, and a writer checkpoint saying the log is durable up to E, with
 *     the tail's record count and data checksum walked as it was copied;
 *   - the index files that lie within [start, E), each kind's a chain without gaps from the start
 *     to one common end (backup-index.ts); the copy's first open replays only [that end, E) into
 *     its memtables.
 * Chunk files are 256 MiB sparse files by default: each copy is sized like its source and written
 * only where data lies, so the copy takes the data's room, never its holes'. It is built in a
 * sibling directory and renamed to the target only once whole and synced: the target holds a
 * complete backup or nothing.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { describeValue } from './arg-checks.js';
import { copyChunk, FrameWalker, readFooter, writeNewFile } from './backup-files.js';
import { copyIndex } from './backup-index.js';
import { CorruptionError, InvalidArgumentError, toAnnalsError } from './errors.js';
import { CHECKPOINT_FILE, CHUNK_HEADER_SIZE, chunkFileName, dataCapacityEnd, decodeCheckpoint, encodeCheckpoint } from './format/layout.js';
import { sealedDataEnd } from './format/scavenged-chunk.js';
import { fsyncDirectory, mkdirDurable } from './fs-durable.js';
import { snapshotFileInfo } from './snapshot-store.js';

export interface BackupOptions {
  /** Called as the copy goes on: bytes copied so far, and the bytes it copies in all. */
  onProgress?: (done: number, total: number) => void;
}

export interface BackupResult {
  /** The backup's directory (the target given). */
  directory: string;
  /** The log position the backup holds the store up to: every event before it, none after. */
  endPosition: number;
  /** Chunk files, index segments and snapshots copied. */
  chunks: number;
  segments: number;
  snapshots: number;
  /** Bytes written: the data of the chunks, the segments and the snapshots. */
  bytes: number;
}

/** What backupStore needs of the store it copies (EventStore.backup gives it). */
export interface BackupSource {
  directory: string;
  chunkSize: number;
  /** The version the stream has reached, as readers see it now. */
  streamVersion(streamId: string): number;
  /** Makes what was appended so far durable and returns the end of the log to copy up to. */
  capture(): Promise<number>;
}

/** The BackupSource of an open store. A store whose writes failed still backs up what readers
 * see: every acknowledged append. */
export function backupSourceOf(store: {
  directory: string;
  chunkSize: number;
  readOnly: boolean;
  reader: { visibleVersion(streamId: string): number };
  writer: { failed: unknown; visibleEnd: number; flush(): Promise<void> };
}): BackupSource {
  const { directory, chunkSize, readOnly, reader, writer } = store;
  return {
    directory,
    chunkSize,
    streamVersion: (id) => reader.visibleVersion(id),
    capture: async () => {
      if (!readOnly && !writer.failed) await writer.flush();
      return writer.visibleEnd;
    },
  };
}

/** Refuses a target that exists and is not an empty directory, or that lies inside the store. */
function checkTarget(source: string, target: unknown): string {
  if (typeof target !== 'string' || target.length === 0) {
    throw new InvalidArgumentError(`the backup target must be a non-empty path, got ${describeValue(target)}`);
  }
  const from = path.resolve(source);
  const to = path.resolve(target);
  if (to === from || to.startsWith(`${from}${path.sep}`)) {
    throw new InvalidArgumentError(`the backup target ${target} lies inside the store ${source}`);
  }
  let entries: string[] | undefined;
  try {
    entries = fs.readdirSync(to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR')
      throw new InvalidArgumentError(`the backup target ${target} is not a directory: it, or a directory on its path, is a file`);
    if (code !== 'ENOENT') throw toAnnalsError(err, `backup to ${target}: `);
  }
  if (entries && entries.length > 0) {
    throw new InvalidArgumentError(`the backup target ${target} exists and is not empty: a backup never overwrites`);
  }
  return to;
}

interface ChunkPlan {
  number: number;
  /** Bytes of the file to copy: header and data. */
  dataEnd: number;
  /** The footer of a sealed chunk. */
  footer?: Buffer;
}

/** The chunks below `end` and what of each to copy. */
async function planChunks(chunksDir: string, chunkSize: number, end: number): Promise<ChunkPlan[]> {
  const tail = Math.floor(end / chunkSize);
  const plans: ChunkPlan[] = [];
  for (let n = 0; n < tail; n++) {
    const file = path.join(chunksDir, chunkFileName(n));
    const footer = await readFooter(file, chunkSize);
    // A scavenged chunk's data is its frames and position map (lib/format/scavenged-chunk.ts).
    const dataEnd = sealedDataEnd(footer, chunkSize);
    if (dataEnd === undefined || dataEnd < CHUNK_HEADER_SIZE || dataEnd > dataCapacityEnd(chunkSize)) {
      throw new CorruptionError(`chunk ${file}: a chunk below the end of the log has no valid footer`);
    }
    plans.push({ number: n, dataEnd, footer });
  }
  // The end may be the first position of a chunk not created yet (the one before it sealed).
  const offset = end - tail * chunkSize;
  if (fs.existsSync(path.join(chunksDir, chunkFileName(tail))) || offset > CHUNK_HEADER_SIZE) {
    plans.push({ number: tail, dataEnd: offset });
  }
  return plans;
}

/** The source's writer generation: what the copy's checkpoint must not go below. */
function sourceGeneration(chunksDir: string): number {
  try {
    return decodeCheckpoint(fs.readFileSync(path.join(chunksDir, CHECKPOINT_FILE)))?.generation ?? 0;
  } catch {
    return 0;
  }
}

/** Copies the chunks and writes the checkpoint; returns how many chunks it copied. */
async function copyLog(source: BackupSource, end: number, work: string, progress: Progress): Promise<number> {
  const chunksDir = path.join(source.directory, 'chunks');
  const out = path.join(work, 'chunks');
  mkdirDurable(out);
  const generation = sourceGeneration(chunksDir);
  const plans = await planChunks(chunksDir, source.chunkSize, end);
  progress.add(plans.reduce((a, p) => a + p.dataEnd, 0));
  let walker: FrameWalker | undefined;
  for (const p of plans) {
    const name = chunkFileName(p.number);
    walker = p.footer ? undefined : new FrameWalker();
    await copyChunk(path.join(chunksDir, name), path.join(out, name), source.chunkSize, p.dataEnd, p.footer, progress.done, walker);
  }
  // Without a checkpoint that matches the tail, the copy's first open scans the tail chunk from
  // its start instead: slower, as correct.
  const tail = plans[plans.length - 1];
  if (!walker || (tail && walker.endsAt(tail.dataEnd))) {
    const cp = encodeCheckpoint({
      durableEnd: end,
      generation: Math.max(generation, walker?.generation ?? 0),
      tailRecords: walker?.records ?? 0,
      tailChecksum: walker?.checksum ?? 0,
    });
    await writeNewFile(path.join(out, CHECKPOINT_FILE), cp);
  }
  fsyncDirectory(out);
  return plans.length;
}

/** Copies the snapshots whose version the stream has reached; damaged ones are left behind. */
async function copySnapshots(source: BackupSource, work: string, progress: Progress): Promise<number> {
  const dir = path.join(source.directory, 'snapshots');
  if (!fs.existsSync(dir)) return 0;
  let copied = 0;
  for (const sub of fs.readdirSync(dir)) {
    if (!/^[0-9a-f]{2}$/.test(sub)) continue;
    for (const name of fs.readdirSync(path.join(dir, sub))) {
      if (!name.endsWith('.snap')) continue;
      const bytes = await fsp.readFile(path.join(dir, sub, name)).catch(() => undefined);
      const info = bytes && snapshotFileInfo(bytes);
      if (!bytes || !info || info.version > source.streamVersion(info.streamId)) continue;
      mkdirDurable(path.join(work, 'snapshots', sub));
      await writeNewFile(path.join(work, 'snapshots', sub, name), bytes);
      progress.add(bytes.length);
      progress.done(bytes.length);
      copied++;
    }
    if (fs.existsSync(path.join(work, 'snapshots', sub))) fsyncDirectory(path.join(work, 'snapshots', sub));
  }
  if (copied > 0) fsyncDirectory(path.join(work, 'snapshots'));
  return copied;
}

class Progress {
  private total = 0;
  private copied = 0;
  constructor(private readonly report?: (done: number, total: number) => void) {}
  add(bytes: number): void {
    this.total += bytes;
  }
  readonly done = (bytes: number): void => {
    this.copied += bytes;
    this.report?.(this.copied, this.total);
  };
  get bytes(): number {
    return this.copied;
  }
}

/** Copies the store `source` describes to `target` (see the file's header). */
export async function backupStore(source: BackupSource, target: string, options: BackupOptions = {}): Promise<BackupResult> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError(`options must be an object, got ${describeValue(options)}`);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new InvalidArgumentError(`onProgress must be a function, got ${describeValue(options.onProgress)}`);
  }
  const to = checkTarget(source.directory, target);
  const parent = path.dirname(to);
  const work = path.join(parent, `.${path.basename(to)}.backup-${process.pid}-${Date.now().toString(36)}`);
  const progress = new Progress(options.onProgress);
  try {
    mkdirDurable(work);
    const snapshots = await copySnapshots(source, work, progress);
    const end = await source.capture();
    const chunks = await copyLog(source, end, work, progress);
    const segments = await copyIndex(source.directory, end, work, (bytes) => {
      progress.add(bytes);
      progress.done(bytes);
    });
    fsyncDirectory(work);
    // An empty target directory is replaced; a new one is made by the rename itself.
    fs.renameSync(work, to);
    fsyncDirectory(parent);
    return { directory: target, endPosition: end, chunks, segments, snapshots, bytes: progress.bytes };
  } catch (err) {
    fs.rmSync(work, { recursive: true, force: true });
    throw toAnnalsError(err, `backup of ${source.directory} to ${target}: `);
  }
}
