/**
 * Runs a scavenge's chunk passes: the native engine's in C++ (scavenge-native.ts), the JS engine's
 * (scavenge-pass.ts) in a worker thread (scavenge-worker.ts), one
 * chunk at a time, so the event loop the appends run on only answers the worker's questions (the
 * rules of stream ids new to it), runs the step hooks and swaps the files. Where no worker can be
 * started (the worker's file is not beside this one, as in a bundle), the passes run on the event
 * loop, yielding between blocks.
 *
 * The worker (scavenge-worker.ts) starts from the built package or from the sources (worker-start.ts).
 *
 * Bounds: one pass in flight; the worker reads 1 MiB of a chunk and buffers 1 MiB of output at a
 * time; the bytes it examines per second are capped by `maxBytesPerSecond` (the I/O a scavenge
 * takes); a stop is a flag in shared memory, read by the worker between blocks.
 */
import type { Worker } from 'node:worker_threads';
import { type ErrorParts, errorFromParts } from './error-transfer.js';
import { NativePasses, type NativeScavengePass } from './scavenge-native.js';
import { type PassRequest, type PassResult, type PassStep, type RuleAnswer, runPass } from './scavenge-pass.js';
import { RuleCache } from './scavenge-rule-cache.js';
import { startWorker } from './worker-start.js';

export interface WorkerInit {
  keys: Float64Array;
  /** Int32Array over it: [0] is 1 once the scavenge is to stop. */
  control: SharedArrayBuffer;
  /** Whether the worker waits at each step for the runner's hook. */
  steps: boolean;
  maxBytesPerSecond: number;
}

export type PassMessage = { type: 'pass'; req: PassRequest } | { type: 'reply'; id: number; value: unknown };

export type WorkerMessage =
  | { type: 'ask'; id: number; ids: string[] }
  | { type: 'step'; id: number; step: string }
  | { type: 'done'; result: PassResult | undefined }
  | { type: 'failed'; error: ErrorParts };

export interface PassHandlers {
  /** The rules of stream ids, in order. */
  ask(ids: string[]): RuleAnswer[];
  step(step: PassStep): void;
}

/** Holds a pass to `maxBytesPerSecond` (0: no cap) and says when to stop. */
export class Pacer {
  private readonly started = performance.now();
  private bytes = 0;

  constructor(
    private readonly control: Int32Array,
    private readonly maxBytesPerSecond: number,
  ) {}

  async pace(bytes: number): Promise<boolean> {
    this.bytes += bytes;
    if (this.maxBytesPerSecond > 0) {
      const due = this.started + (this.bytes / this.maxBytesPerSecond) * 1000;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    return Atomics.load(this.control, 0) === 1;
  }
}

/** Test seam: `inThread` runs the TypeScript passes on the event loop, as where no worker can start. */
export const scavengeWorker: { inThread?: boolean } = {};

async function startPassWorker(init: WorkerInit): Promise<Worker | undefined> {
  return scavengeWorker.inThread ? undefined : startWorker(import.meta.url, 'scavenge-worker', init);
}

export class PassRunner {
  private readonly control = new Int32Array(new SharedArrayBuffer(4));
  private readonly init: WorkerInit;
  private worker: Worker | undefined;
  /** Settles once the worker started, or could not (undefined: the passes run in-thread). */
  private readonly ready: Promise<Worker | undefined>;
  private closed = false;
  private current: { resolve(r: PassResult | undefined): void; reject(e: Error): void; h: PassHandlers } | undefined;

  /** The native engine's passes (scavenge-native.ts), which need no worker. */
  private readonly natives: NativePasses | undefined;

  constructor(keys: Iterable<number>, o: { steps: boolean; maxBytesPerSecond: number; native?: NativeScavengePass }) {
    const { native, ...rest } = o;
    this.init = { keys: Float64Array.from(keys), control: this.control.buffer as SharedArrayBuffer, ...rest };
    if (native) {
      this.natives = new NativePasses(native, this.init.keys, this.control, o.maxBytesPerSecond);
      this.ready = Promise.resolve(undefined);
      return;
    }
    this.ready = startPassWorker(this.init).then((w) => {
      if (!w) return undefined;
      w.on('message', (m: WorkerMessage) => this.onMessage(m));
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => this.fail(new Error(`scavenge worker exited with code ${code}`)));
      w.unref();
      this.worker = w;
      if (this.closed) void this.close();
      return w;
    });
  }

  /** Scavenges one chunk into its temp file; undefined: stopped. */
  async pass(req: PassRequest, h: PassHandlers): Promise<PassResult | undefined> {
    if (this.natives) return this.natives.pass(req, h);
    const started = await this.ready;
    const worker = this.worker;
    if (!started) return this.passInThread(req, h);
    if (!worker) throw new Error('the scavenge worker is gone');
    // Referenced while a pass is out, so a process awaiting the scavenge does not exit under it.
    worker.ref();
    return new Promise<PassResult | undefined>((resolve, reject) => {
      this.current = { resolve, reject, h };
      worker.postMessage({ type: 'pass', req } satisfies PassMessage);
    }).finally(() => {
      this.current = undefined;
      this.worker?.unref();
    });
  }

  private passInThread(req: PassRequest, h: PassHandlers): Promise<PassResult | undefined> {
    const pacer = new Pacer(this.control, this.init.maxBytesPerSecond);
    return runPass(req, {
      keys: new Set(this.init.keys),
      rules: new RuleCache(),
      ask: async (ids) => h.ask(ids),
      // A turn of the event loop after each block (1 MiB) read.
      pace: async (bytes) => {
        await new Promise((r) => setImmediate(r));
        return pacer.pace(bytes);
      },
      step: async (step) => h.step(step),
    });
  }

  private onMessage(m: WorkerMessage): void {
    const c = this.current;
    if (!c) return;
    try {
      if (m.type === 'ask') this.worker?.postMessage({ type: 'reply', id: m.id, value: c.h.ask(m.ids) } satisfies PassMessage);
      else if (m.type === 'step') {
        c.h.step(m.step as PassStep);
        this.worker?.postMessage({ type: 'reply', id: m.id, value: null } satisfies PassMessage);
      } else if (m.type === 'done') c.resolve(m.result);
      else c.reject(errorFromParts(m.error));
    } catch (err) {
      this.stop();
      c.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private fail(e: Error): void {
    this.worker = undefined;
    this.current?.reject(e);
  }

  /** The pass under way stops at its next block (and so does every later one). */
  stop(): void {
    Atomics.store(this.control, 0, 1);
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    if (w) {
      w.removeAllListeners('exit');
      await w.terminate();
    }
  }
}
