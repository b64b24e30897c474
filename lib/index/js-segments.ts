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

/**
 * The smallest memoryBudget at which a JS-engine store builds its segments in a worker: the worker
 * is a V8 instance of its own, tens of MB of anonymous memory whatever the store holds (its heap,
 * its code), which a small budget (the default is 24 MiB) is chosen not to pay; there builds run
 * on the event loop.
 */
const WORKER_FROM_BUDGET = 128 * 2 ** 20;

/** Test seams: the threshold a backend takes when its options give none (0: every job in the
 * worker), and the budget from which a store's backend has a worker (open-store.ts). */
export const jsSegmentJobs = { inThreadBelow: IN_THREAD_BELOW_ENTRIES, workerFromBudget: WORKER_FROM_BUDGET };

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
  private staging: SegmentEntries | undefined;

  /** `cache`: the store's read-cache budget, shared by its segment and directory readers. */
  constructor(
    private readonly cache: ReadCacheBudget = UNBOUNDED_READ_CACHE(),
    o: JsSegmentBackendOptions = {},
  ) {
    this.worker = o.worker === false ? undefined : new SegmentWorker();
    this.inThreadBelow = o.inThreadBelow ?? jsSegmentJobs.inThreadBelow;
  }

  open(file: string): SegmentReader {
    return openJsSegment(file, this.cache);
  }

  async build(dir: string, name: string, spec: SegmentSpec, e: SegmentEntries): Promise<void> {
    if (this.worker && e.hi.length >= this.inThreadBelow) {
      if (await this.worker.run({ type: 'build', dir, name, spec, entries: this.shared(e) })) return;
    }
    buildSegmentFile(dir, name, spec, e);
  }

  /**
   * The entries copied into arrays over shared memory, which the worker reads in place: one set
   * for every build (one at a time), grown to the largest so far. Copies, because the caller's
   * arrays serve its next build (entry-arrays.ts) and stay whole for a build in this thread
   * should the worker crash; shared, because arrays handed over anew for each build would be
   * freed only by the worker's garbage collector, which runs seldom there.
   */
  private shared(e: SegmentEntries): SegmentEntries {
    const n = e.hi.length;
    if (!this.staging || this.staging.hi.length < n) {
      const cap = Math.ceil(n * 1.25);
      const over = (bytes: number) => new SharedArrayBuffer(cap * bytes);
      this.staging = {
        hi: new Uint32Array(over(4)),
        lo: new Uint32Array(over(4)),
        seq: new Uint32Array(over(4)),
        position: new Float64Array(over(8)),
      };
    }
    const s = this.staging;
    const out = { hi: s.hi.subarray(0, n), lo: s.lo.subarray(0, n), seq: s.seq.subarray(0, n), position: s.position.subarray(0, n) };
    out.hi.set(e.hi);
    out.lo.set(e.lo);
    out.seq.set(e.seq);
    out.position.set(e.position);
    return out;
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
    this.staging = undefined;
    return this.worker?.close() ?? Promise.resolve();
  }
}
