/**
 * A read-only store follows the writer of its directory (another process, or this one): every
 * `followIntervalMs` the engine moves the log's end to what the writer's checkpoint says is
 * durable, once every frame up to there is checked (LogEngine.follow), and the new records are
 * indexed, then made visible to reads and subscriptions. So a follower never shows what the writer
 * has not made durable (an append still in flight, or one that fails and is cut), never a torn
 * record, and takes no lock.
 *
 * Memory stays bounded: what the follower indexes itself lives in memtables, which it trades for
 * the writer's segment files once the writer has built them (StoreIndex.adopt), checking at most
 * once per ADOPT_CHECK_MS and only when its memtables hold a writer's memtable's worth.
 */
import path from 'node:path';
import type { LogEngine } from './engine/log-engine.js';
import { loadPinnedIndexFiles, writerCoverage } from './index/pinned-index-files.js';
import type { SegmentBackend } from './index/segment-backend.js';
import { KINDS } from './index/segment-catalog.js';
import type { StoreIndex } from './index/store-index.js';
import type { StreamDirectory } from './index/stream-directory.js';
import type { LogWriter } from './log-writer.js';
import type { ResolvedOptions } from './options.js';
import { META_STREAM_PREFIX } from './stream-metadata.js';

const ADOPT_CHECK_MS = 1000;
/** Log bytes one step indexes at most (whole appends): a follower far behind (its event loop was
 * stalled, or the writer wrote a burst) catches up in steps of a few milliseconds, one turn of the
 * event loop apart, instead of one long synchronous step. */
export const FOLLOW_STEP_BYTES = 1 << 20;

export interface FollowerDeps {
  directory: string;
  engine: LogEngine;
  index: StoreIndex;
  writer: LogWriter;
  options: ResolvedOptions;
  /** The segment and directory backends the store opened with (the same engine's). */
  backends: { segments: SegmentBackend; directories: StreamDirectory['backend'] };
  /** A metadata event was read: the registry reads the stream's metadata again. */
  metadataWritten(metaStreamId: string): void;
  /** A damaged record below the writer's checkpoint stopped the follower there. */
  damaged(position: number, message: string): void;
  warn(message: string): void;
}

export class Follower {
  private readonly timer: NodeJS.Timeout;
  private lastAdoptCheck = 0;
  private lastError = '';
  private stopped = false;
  /** Where the indexed (and visible) log ends: the index covered the whole log at open. */
  private indexedTo: number;
  /** A step is scheduled for the next turn of the event loop (catching up). */
  private stepping = false;

  constructor(private readonly d: FollowerDeps) {
    this.indexedTo = d.engine.endPosition();
    this.timer = setInterval(() => this.tick(), d.options.followIntervalMs);
    this.timer.unref();
  }

  /** One step: reads what the writer made durable since, and makes it visible. */
  tick(): void {
    if (this.stopped) return;
    const { engine } = this.d;
    try {
      const r = engine.follow();
      if (r.error !== '' && r.error !== this.lastError) {
        if (r.damaged > 0) this.d.damaged(r.damaged, r.error);
        else this.d.warn(`following the writer: ${r.error}`);
      }
      this.lastError = r.error;
      if (r.endPosition > this.indexedTo) this.indexStep();
      // Also when nothing new came: a writer that stopped may have built its last segments.
      this.adoptWriterSegments();
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastError) this.d.warn(`following the writer: ${message}`);
      this.lastError = message;
    }
  }

  /** Indexes up to FOLLOW_STEP_BYTES of what the engine moved over and makes it visible; the rest
   * in the next turns of the event loop. */
  private indexStep(): void {
    const { index, writer, engine } = this.d;
    this.indexedTo = index.follow((streamId) => {
      if (streamId.startsWith(META_STREAM_PREFIX)) this.d.metadataWritten(streamId);
    }, FOLLOW_STEP_BYTES);
    writer.followedTo(this.indexedTo);
    if (this.indexedTo < engine.endPosition() && !this.stepping) {
      this.stepping = true;
      setImmediate(() => {
        this.stepping = false;
        if (!this.stopped) this.tick();
      });
    }
  }

  /** Trades the memtables for the writer's segment files once they cover more of the log. */
  private adoptWriterSegments(): void {
    const { index, options, engine } = this.d;
    const now = Date.now();
    if (index.memtableWeight < options.indexMemtableEntries || now - this.lastAdoptCheck < ADOPT_CHECK_MS) return;
    this.lastAdoptCheck = now;
    const load = {
      indexDir: path.join(this.d.directory, 'index'),
      ...this.d.backends,
      logEnd: engine.endPosition(),
      chunkSize: options.chunkSize,
    };
    // The file names first (no file opened): most checks find nothing new.
    if (writerCoverage(load) <= index.memtableStart) return;
    const files = loadPinnedIndexFiles(load);
    if (!files) return;
    if (Math.min(...KINDS.map((k) => files.catalog.coverage(k))) <= index.memtableStart) {
      files.catalog.close();
      files.directory.close();
      return;
    }
    index.adopt(files.catalog, files.directory);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
