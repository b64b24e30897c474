/**
 * The JS engine's end of its segment worker (segment-worker.ts): started on the first job a store
 * sends it, one job out at a time (IndexJobs runs builds and merges one at a time), terminated at
 * close. Unreferenced while idle, so a store left open does not keep the process alive, and
 * referenced while a job is out, so a process awaiting the job does not exit under it.
 *
 * Where no worker starts, or once it crashed, run() answers false and the caller does the job on
 * its own thread: a build or merge is redone whole (a temporary file, then a rename), so a job
 * cut short by a crash loses nothing.
 */
import type { Worker } from 'node:worker_threads';
import { type ErrorParts, errorFromParts } from '../error-transfer.js';
import { StoreClosedError } from '../errors.js';
import { startWorker } from '../worker-start.js';
import type { SegmentEntries, SegmentSpec } from './segment-backend.js';

export type SegmentJob =
  | { type: 'build'; dir: string; name: string; spec: SegmentSpec; entries: SegmentEntries }
  | { type: 'merge'; dir: string; name: string; spec: SegmentSpec; inputs: string[] };

export type SegmentJobAnswer = { type: 'done' } | { type: 'failed'; error: ErrorParts };

/** The worker's young generation held small: its jobs allocate little that lives (buffers it
 * reuses), and a young generation grown to V8's default for a busy thread would be anonymous
 * memory beside the store's budget. */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4 };

export class SegmentWorker {
  private worker: Worker | undefined;
  private starting: Promise<void> | undefined;
  /** No worker started, or it crashed: jobs run in the caller's thread from then on. */
  private unavailable = false;
  private closed = false;
  private current: { resolve(ran: boolean): void; reject(e: Error): void } | undefined;

  /** Whether a worker runs (tests). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Runs `job` in the worker: true once it is done, false where no worker runs (the caller
   * does the job itself). Rejects with the job's error, typed as in the worker. */
  async run(job: SegmentJob, transfer: ArrayBuffer[] = []): Promise<boolean> {
    if (this.current) throw new Error('segment worker: one job at a time');
    const w = await this.start();
    if (!w) return false;
    w.ref();
    try {
      return await new Promise<boolean>((resolve, reject) => {
        this.current = { resolve, reject };
        w.postMessage(job, transfer);
      });
    } finally {
      this.current = undefined;
      this.worker?.unref();
    }
  }

  private async start(): Promise<Worker | undefined> {
    if (this.unavailable || this.closed) return undefined;
    this.starting ??= startWorker(import.meta.url, 'segment-worker', undefined, WORKER_LIMITS).then(
      (w) => this.attach(w),
      () => this.attach(undefined),
    );
    await this.starting;
    return this.worker;
  }

  private attach(w: Worker | undefined): void {
    if (!w) {
      this.unavailable = true;
      return;
    }
    if (this.closed) {
      void w.terminate();
      return;
    }
    w.on('message', (m: SegmentJobAnswer) => {
      const c = this.current;
      this.current = undefined;
      if (m.type === 'done') c?.resolve(true);
      else c?.reject(errorFromParts(m.error));
    });
    w.on('error', () => this.crashed());
    w.on('exit', () => this.crashed());
    w.unref();
    this.worker = w;
  }

  /** Test seam: ends the worker as a crash would. */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  /** The job out, if any, is done again in the caller's thread, and every later one. */
  private crashed(): void {
    this.worker = undefined;
    this.unavailable = true;
    const c = this.current;
    this.current = undefined;
    c?.resolve(false);
  }

  /** Terminates the worker; a job still out (the store waits for its jobs before this) fails. */
  close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    const c = this.current;
    this.current = undefined;
    c?.reject(new StoreClosedError());
    if (!w) return Promise.resolve();
    w.removeAllListeners('exit');
    w.removeAllListeners('error');
    w.on('error', () => {});
    return w.terminate().then(() => undefined);
  }
}
