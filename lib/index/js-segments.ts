/**
 * The JS engine's segment backend: the same files as native/index_segment*.cc, read page by page
 * with pread, each page CRC-checked (js-segment-reader.ts), and built and merged by a TypeScript
 * writer (js-segment-writer.ts) in the store's segment worker thread (segment-worker.ts), so the
 * event loop keeps serving appends while a segment is written. Small jobs, and every job where no
 * worker runs, are done on the event loop.
 */
import { type JsSegmentReader, openJsSegment } from './js-segment-reader.js';
import { buildSegmentFile, mergeSegmentFiles } from './js-segment-writer.js';
import { type ReadCacheBudget, UNBOUNDED_READ_CACHE } from './read-cache.js';
import type { SegmentBackend, SegmentEntries, SegmentReader, SegmentSpec } from './segment-backend.js';
import { SegmentWorker } from './segment-worker-client.js';

/** Jobs of fewer entries run on the event loop: a few milliseconds of work, less than starting a
 * worker costs, so a small store never starts one. */
const IN_THREAD_BELOW_ENTRIES = 16_384;

export interface JsSegmentBackendOptions {
  /** False: every job runs on the event loop (tests; the fallback where no worker starts). */
  worker?: boolean;
  /** Jobs of fewer entries run on the event loop (IN_THREAD_BELOW_ENTRIES). */
  inThreadBelow?: number;
}

export class JsSegmentBackend implements SegmentBackend {
  /** Started on the first job large enough for it. */
  readonly worker: SegmentWorker | undefined;
  private readonly inThreadBelow: number;

  /** `cache`: the store's read-cache budget, shared by its segment and directory readers. */
  constructor(
    private readonly cache: ReadCacheBudget = UNBOUNDED_READ_CACHE(),
    o: JsSegmentBackendOptions = {},
  ) {
    this.worker = o.worker === false ? undefined : new SegmentWorker();
    this.inThreadBelow = o.inThreadBelow ?? IN_THREAD_BELOW_ENTRIES;
  }

  open(file: string): SegmentReader {
    return openJsSegment(file, this.cache);
  }

  async build(dir: string, name: string, spec: SegmentSpec, e: SegmentEntries): Promise<void> {
    if (this.worker && e.hi.length >= this.inThreadBelow) {
      // Copies, transferred: the caller's arrays serve the next build (entry-arrays.ts), and stay
      // whole for the build in this thread should the worker crash.
      const entries = { hi: e.hi.slice(), lo: e.lo.slice(), seq: e.seq.slice(), position: e.position.slice() };
      const transfer = [entries.hi.buffer, entries.lo.buffer, entries.seq.buffer, entries.position.buffer];
      if (await this.worker.run({ type: 'build', dir, name, spec, entries }, transfer)) return;
    }
    buildSegmentFile(dir, name, spec, e);
  }

  /** The inputs stay open and their files in place until this settles (IndexJobs.merge replaces
   * them after): the worker opens them by path. */
  async merge(dir: string, name: string, spec: SegmentSpec, inputs: SegmentReader[]): Promise<void> {
    const entries = inputs.reduce((n, s) => n + s.header.entryCount, 0);
    if (this.worker && entries >= this.inThreadBelow) {
      if (await this.worker.run({ type: 'merge', dir, name, spec, inputs: inputs.map((s) => s.path) })) return;
    }
    mergeSegmentFiles(dir, name, spec, inputs as JsSegmentReader[]);
  }

  /** Terminates the worker (the store is closing, its jobs done). */
  close(): Promise<void> {
    return this.worker?.close() ?? Promise.resolve();
  }
}
