/**
 * Opening a store directory: choose the engine (native unless it cannot load, with one warning),
 * take the writer lock, recover the data log, load the index segment catalog. Everything opened is
 * released again if a later step fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { acquireDirLock, type HeldLock } from './dir-lock.js';
import { JsChunkLog } from './engine/js-chunk-log.js';
import type { LogEngine, OpenReport } from './engine/log-engine.js';
import { NativeChunkLog } from './engine/native-chunk-log.js';
import { ScavengeAwareLog } from './engine/scavenged-log.js';
import { CorruptionError, EngineUnavailableError, InvalidArgumentError, toAnnalsError } from './errors.js';
import { freshStoreIdentity } from './format/event-id.js';
import { CHUNK_HEADER_SIZE, chunkFileName, chunkHeaderValid } from './format/layout.js';
import { mkdirDurable } from './fs-durable.js';
import type { DirectoryBackend } from './index/directory-backend.js';
import { JsDirectoryBackend } from './index/js-directory.js';
import { JsSegmentBackend, jsSegmentJobs } from './index/js-segments.js';
import { NativeDirectoryBackend } from './index/native-directory.js';
import { NativeSegmentBackend } from './index/native-segments.js';
import { loadPinnedIndexFiles } from './index/pinned-index-files.js';
import type { SegmentBackend } from './index/segment-backend.js';
import { KINDS, SegmentCatalog } from './index/segment-catalog.js';
import { StoreIndex } from './index/store-index.js';
import { StreamDirectory } from './index/stream-directory.js';
import { logClaims } from './log-completeness.js';
import { nativeAddon, nativeLoadError } from './native.js';
import type { ResolvedOptions } from './options.js';
import { checkStoreDir } from './store-dir.js';
import type { EngineName } from './types.js';

let fallbackWarned = false;

export function warn(message: string, code: string): void {
  process.emitWarning(`annals: ${message}`, { code });
}

/** The engine, used through the log that reads scavenged chunks for both (scavenged-log.ts). */
function chooseEngine(name: EngineName | undefined, dir: string, o: ResolvedOptions): LogEngine {
  return new ScavengeAwareLog(chooseInnerEngine(name, dir, o), dir, o.chunkSize, o.readOnly);
}

function chooseInnerEngine(name: EngineName | undefined, dir: string, o: ResolvedOptions): LogEngine {
  const addon = nativeAddon();
  if (name === 'js') return new JsChunkLog(dir, o.chunkSize, o.readOnly, o.flushPollMicros / 1000);
  if (addon) return new NativeChunkLog(addon, dir, o.chunkSize, o.readOnly, o.flushPollMicros / 1000);
  const reason = nativeLoadError()?.message ?? 'unknown reason';
  if (name === 'native') throw new EngineUnavailableError(`the native engine cannot load: ${reason}`);
  if (!fallbackWarned) {
    fallbackWarned = true;
    warn(`native addon unavailable (${reason}); using the JS engine`, 'ANNALS_JS_FALLBACK');
  }
  return new JsChunkLog(dir, o.chunkSize, o.readOnly, o.flushPollMicros / 1000);
}

export interface OpenedParts {
  /** The options in force: chunkSize is the store's own. */
  options: ResolvedOptions;
  engine: LogEngine;
  lock: HeldLock | undefined;
  recovery: OpenReport;
  catalog: SegmentCatalog;
  directory: StreamDirectory;
  /** The index file backends of the engine in use (a follower loads the writer's newer files). */
  backends: { segments: SegmentBackend; directories: DirectoryBackend };
}

/** The chunk size an existing store was created with (from its first chunk's header). */
function existingChunkSize(chunksDir: string): number | undefined {
  const first = path.join(chunksDir, chunkFileName(0));
  if (!fs.existsSync(first)) return undefined;
  const fd = fs.openSync(first, 'r');
  try {
    const header = Buffer.alloc(CHUNK_HEADER_SIZE);
    fs.readSync(fd, header, 0, CHUNK_HEADER_SIZE, 0);
    const size = header.readUIntLE(24, 6);
    return chunkHeaderValid(header, 0, size) ? size : undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Opens the store's parts; a file-system failure becomes the documented error that names the
 * path and its cause (store-dir.ts, errors.ts), never a raw `fs` error. */
export function openParts(dir: string, given: ResolvedOptions): OpenedParts {
  checkStoreDir(dir, !given.readOnly);
  try {
    return openChecked(dir, given);
  } catch (err) {
    throw toAnnalsError(err, `cannot open the store at ${dir}: `);
  }
}

function openChecked(dir: string, given: ResolvedOptions): OpenedParts {
  const chunksDir = path.join(dir, 'chunks');
  if (!given.readOnly) mkdirDurable(chunksDir);
  const existing = existingChunkSize(chunksDir);
  if (existing !== undefined && given.chunkSizeGiven && existing !== given.chunkSize) {
    throw new InvalidArgumentError(`the store at ${dir} uses chunkSize ${existing}, not ${given.chunkSize}`);
  }
  const o = existing === undefined ? given : { ...given, chunkSize: existing };
  const { missing, indexedEnd } = logClaims(dir, o.chunkSize);
  if (missing && !o.readOnly) {
    throw new CorruptionError(`${missing.message}; the store is not opened for writing (a read-only open serves what is intact)`);
  }
  if (missing) warn(`${missing.message}; serving what is intact`, 'ANNALS_CORRUPTION');
  const engine = chooseEngine(o.engine, chunksDir, o);
  const lock = o.readOnly ? undefined : acquireDirLock(dir);
  try {
    const recovery = engine.open(o.readOnly ? 0 : freshStoreIdentity(), indexedEnd);
    if (recovery.torn) {
      warn(
        `torn tail cut at position ${recovery.tornPosition} (${recovery.tornReason}, ${recovery.discardedBytes} bytes of an unacknowledged append dropped)`,
        'ANNALS_TORN_TAIL',
      );
    }
    const indexDir = path.join(dir, 'index');
    if (!o.readOnly) mkdirDurable(indexDir);
    const addon = nativeAddon();
    const backend: SegmentBackend =
      engine.name === 'native' && addon
        ? new NativeSegmentBackend(addon)
        : new JsSegmentBackend(o.readCache, { worker: o.memoryBudget.budget >= jsSegmentJobs.workerFromBudget });
    const directories: DirectoryBackend =
      engine.name === 'native' && addon ? new NativeDirectoryBackend(addon) : new JsDirectoryBackend(o.readCache);
    const backends = { segments: backend, directories };
    // A follower's writer merges segments away while it runs: its files are opened at once.
    const pinned = following(o)
      ? loadPinnedIndexFiles({ indexDir, ...backends, logEnd: engine.endPosition(), chunkSize: o.chunkSize })
      : undefined;
    if (pinned) return { options: o, engine, lock, recovery, ...pinned, backends };
    const catalog = SegmentCatalog.load(indexDir, backend, engine.endPosition(), o.chunkSize, !o.readOnly, (m) => warn(m, 'ANNALS_INDEX'));
    const coverTo = Math.min(...KINDS.map((k) => catalog.coverage(k)));
    const directory = StreamDirectory.load(
      indexDir,
      directories,
      { logEnd: engine.endPosition(), coverTo, chunkSize: o.chunkSize, writable: !o.readOnly },
      (m) => warn(m, 'ANNALS_INDEX'),
    );
    return { options: o, engine, lock, recovery, catalog, directory, backends };
  } catch (err) {
    try {
      engine.close();
    } catch {}
    lock?.release();
    throw err;
  }
}

/** Releases what openParts took: a failed open leaves nothing held, so the next open, in this
 * process or another, may proceed. */
export function closeParts(p: OpenedParts): void {
  p.catalog.close();
  p.directory.close();
  void p.backends.segments.close?.();
  p.engine.close();
  p.lock?.release();
}

/** A read-only store that follows its writer (follower.ts). */
export function following(o: ResolvedOptions): boolean {
  return o.readOnly && o.followIntervalMs > 0;
}

/** The index over the opened parts; its replay of the log's tail can fail (CorruptionError). */
export function openIndex(
  engine: LogEngine,
  catalog: SegmentCatalog,
  directory: StreamDirectory,
  o: ResolvedOptions,
  hooks: { flushLog(): Promise<void>; onDamaged(position: number, err: Error): void },
): StoreIndex {
  return new StoreIndex({
    engine,
    catalog,
    directory,
    writable: !o.readOnly,
    memtableEntries: o.indexMemtableEntries,
    maxSegments: o.maxIndexSegments,
    tieredMerges: o.tieredMerges,
    retentionMs: o.retentionMs,
    maxRecentStreams: o.maxRecentStreams,
    maxRecentCommands: o.maxRecentCommands,
    logEnd: () => engine.endPosition(),
    flushLog: hooks.flushLog,
    warn: (m) => warn(m, 'ANNALS_INDEX'),
    onDamaged: hooks.onDamaged,
  });
}
