/**
 * Places transactions at the end of the log, hands them to the engine, and decides when they count
 * as written: the group commit.
 *
 * Placement is decided here, not in the engine, because back-pointers are absolute positions that
 * must be encoded before the bytes are written. In `sync` durability an append resolves after a
 * flush that started after its write; appends written while a flush is in flight share the next
 * one, so concurrency turns into bigger flushes rather than more of them. A flush starts as soon as
 * what it covers is written, and the appends it covers are indexed while it runs (the index work
 * overlaps the disk's), still before any later call plans. `visibleEnd` is what readers and
 * subscribers may see: in `sync` mode only what a completed flush covers.
 */

import type { LogEngine } from './engine/log-engine.js';
import { AnnalsError, DiskFullError, toAnnalsError } from './errors.js';
import { placeTransaction } from './format/layout.js';
import type { EncodedTransaction } from './format/record-codec.js';
import type { ResolvedOptions } from './options.js';
import type { Durability } from './types.js';

interface PendingWrite {
  txs: EncodedTransaction[];
  bytes: number;
  written(outcomes: TxOutcome[]): void;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

export type TxOutcome = { start: number } | { error: Error };

const noop = (): void => {};

export class LogWriter {
  private end: number;
  private visible: number;
  private waiters: Waiter[] = [];
  private pending: PendingWrite[] = [];
  /** Encoded bytes in `pending` (limits.maxPendingBytes bounds it: AppendCommitter). */
  private pendingBytes = 0;
  private flushing: Promise<void> | undefined;
  private flushScheduled = false;
  private running = false;
  private writeScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private failure: AnnalsError | undefined;
  flushes = 0;
  writes = 0;
  /** Milliseconds flushes took since open, each from the engine call to its settling: with
   * `flushes`, what a sampler turns into the mean flush latency of an interval. */
  flushTimeMs = 0;
  /** Reused for each engine call's transaction starts and ends (writes are synchronous). */
  private startsScratch = new Float64Array(64);
  private endsScratch = new Uint32Array(64);
  private readonly chunkSize: number;
  private readonly durability: Durability;
  private readonly maxDiskBytes: number;

  constructor(
    private readonly engine: LogEngine,
    options: Pick<ResolvedOptions, 'chunkSize' | 'durability' | 'flushIntervalMs' | 'limits'>,
    private readonly identityChunk: number,
    private readonly onVisible: (end: number) => void,
  ) {
    this.chunkSize = options.chunkSize;
    this.durability = options.durability;
    this.maxDiskBytes = options.limits.maxDiskBytes;
    this.end = engine.endPosition();
    this.visible = this.end;
    if (this.durability === 'interval') {
      this.timer = setInterval(() => {
        this.flush().catch(() => {});
      }, options.flushIntervalMs);
      this.timer.unref();
    }
  }

  get endPosition(): number {
    return this.end;
  }

  /** The store identity (event-id.ts): what ids derived from it are made of. */
  get identity(): number {
    return this.engine.identity();
  }

  /** Whether what is encoded now may derive its event ids (record-codec.ts): it lands at the end
   * of the log or later, so in a chunk whose header carries the store identity once the end is in
   * one. (The first transaction after an old tail chunk stores ids it could have derived.) */
  get derivesIds(): boolean {
    return this.engine.identity() !== 0 && Math.floor(this.end / this.chunkSize) >= this.identityChunk;
  }
  /** Readers see the log up to here. */
  get visibleEnd(): number {
    return this.visible;
  }
  /** A read-only store's log moved on (follower.ts): readers see up to `end` now. */
  followedTo(end: number): void {
    this.end = Math.max(this.end, end);
    this.visible = this.end;
    this.onVisible(this.visible);
  }
  /** Encoded bytes of appends queued for the next write. */
  get queuedBytes(): number {
    return this.pendingBytes;
  }
  /** The fatal error that stopped writing, if any. */
  get failed(): AnnalsError | undefined {
    return this.failure;
  }

  /**
   * Writes the transactions now, after anything queued, or with `defer` (`sync` only) queues them
   * to be written with the next flush, so that small appends made while a flush runs share one
   * engine call as well as one flush. `written` receives their outcomes once they are written;
   * the promise resolves when they have the store's durability.
   */
  submit(txs: EncodedTransaction[], written: (outcomes: TxOutcome[]) => void, defer: boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!defer || this.durability !== 'sync') {
      this.writePending();
      const outcomes = this.write(txs);
      if (this.durability !== 'sync') {
        written(outcomes);
        return Promise.resolve();
      }
      // With no flush running or scheduled, start one now and index the append while it runs (as
      // runFlush does for the queue); otherwise this waits for the next one, shared as before.
      const flushed = this.waitForFlush(true);
      written(outcomes);
      return flushed;
    }
    let bytes = 0;
    for (const tx of txs) bytes += tx.buf.length;
    this.pending.push({ txs, bytes, written });
    this.pendingBytes += bytes;
    // With no flush running, the one this schedules writes the queue first. With one running, the
    // queue is written once this turn of the event loop has queued all it will (setImmediate), so
    // the write overlaps the flush in flight instead of waiting to start the next one.
    if (this.running && !this.writeScheduled) {
      this.writeScheduled = true;
      setImmediate(() => {
        this.writeScheduled = false;
        if (!this.failure) this.writePending();
      });
    }
    return this.waitForFlush();
  }

  /** Writes what `submit` queued, in order, in as few engine calls as the chunks allow. */
  writePending(): void {
    this.writeQueued()();
  }

  /**
   * Writes the queue and returns what tells its appends their outcomes (the index updates), so a
   * flush can start between the two: see runFlush.
   */
  private writeQueued(): () => void {
    if (this.pending.length === 0) return noop;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const outcomes = this.write(batch.length === 1 ? (batch[0] as PendingWrite).txs : batch.flatMap((p) => p.txs));
    return () => {
      let k = 0;
      for (const p of batch) {
        p.written(outcomes.slice(k, k + p.txs.length));
        k += p.txs.length;
      }
    };
  }

  /**
   * Places and writes the transactions, in order, crossing into the engine once per chunk they
   * land in. Transactions after a failed one are not written and share its error.
   */
  private write(txs: EncodedTransaction[]): TxOutcome[] {
    if (this.failure) throw this.failure;
    this.writes++;
    const outcomes: TxOutcome[] = [];
    let i = 0;
    while (i < txs.length) {
      // Gather the transactions that land in the same chunk as txs[i].
      const starts: number[] = [];
      const parts: Buffer[] = [];
      let end = this.end;
      let j = i;
      while (j < txs.length) {
        const tx = txs[j] as EncodedTransaction;
        const start = placeTransaction(end, tx.buf.length, this.chunkSize);
        if (j > i && start !== end) break; // rolls over: starts the next engine call
        tx.place(start);
        starts.push(start);
        parts.push(tx.buf);
        end = start + tx.buf.length;
        j++;
      }
      const n = parts.length;
      if (n > this.startsScratch.length) {
        this.startsScratch = new Float64Array(Math.max(n, 2 * this.startsScratch.length));
        this.endsScratch = new Uint32Array(this.startsScratch.length);
      }
      const ends = this.endsScratch.subarray(0, n);
      let total = 0;
      for (let k = 0; k < n; k++) {
        total += (parts[k] as Buffer).length;
        ends[k] = total;
        this.startsScratch[k] = starts[k] as number;
      }
      try {
        // The limit is checked a chunk at a time: a chunk may fill up to its full size.
        const chunks = Math.floor((starts[0] as number) / this.chunkSize) + 1;
        if (chunks * this.chunkSize > this.maxDiskBytes) {
          throw new DiskFullError(`a new chunk would take the store past limits.maxDiskBytes (${this.maxDiskBytes} bytes)`);
        }
        const buf = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total);
        this.engine.append(buf, this.startsScratch.subarray(0, n), ends);
      } catch (err) {
        const error = toAnnalsError(err);
        this.end = this.engine.endPosition();
        for (; i < txs.length; i++) outcomes.push({ error });
        return outcomes;
      }
      this.end = end;
      for (const start of starts) outcomes.push({ start });
      i = j;
    }
    if (this.durability !== 'sync') this.publish(this.end);
    return outcomes;
  }

  /** Makes everything written so far durable, whatever the durability mode. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.waitForFlush();
  }

  /** `now`: start the flush at once when none is running or scheduled, instead of at the end of
   * this turn of the event loop. */
  private waitForFlush(now = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (now && !this.running && !this.flushScheduled) this.startFlush();
      else this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.running) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.startFlush();
    });
  }

  private startFlush(): void {
    const run = this.runFlush();
    // A flush that failed before its first await has already finished (and cleared `running`).
    if (this.running) this.flushing = run;
  }

  private async runFlush(): Promise<void> {
    // Set before anything else: writing the queue calls back into the index, which may ask for a
    // flush of its own; that one must wait for this one rather than run beside it.
    this.running = true;
    const waiters = this.waiters;
    this.waiters = [];
    try {
      if (this.failure) throw this.failure;
      // The queue's appends learn their outcomes (and are indexed) after the flush has started, so
      // that work overlaps the disk's instead of delaying it: with 64 single appends queued, their
      // index updates are a few hundred microseconds. Nothing else runs between the write and the
      // callbacks, so every later append still plans against the updated index.
      const written = this.writeQueued();
      const end = this.end;
      const started = performance.now();
      const flushed = this.engine.flush();
      try {
        written();
      } catch (err) {
        flushed.catch(() => {});
        throw err;
      }
      await flushed;
      this.flushTimeMs += performance.now() - started;
      this.flushes++;
      this.publish(end);
      for (const w of waiters) w.resolve();
    } catch (err) {
      const cause = toAnnalsError(err);
      this.failure ??= new AnnalsError(cause instanceof AnnalsError ? cause.code : 'IO', `flush failed: ${cause.message}`, {
        fatal: true,
        cause,
      });
      for (const w of waiters) w.reject(this.failure);
    } finally {
      this.running = false;
      this.flushing = undefined;
      if (this.waiters.length > 0) this.scheduleFlush();
    }
  }

  private publish(end: number): void {
    if (end <= this.visible) return;
    this.visible = end;
    this.onVisible(end);
  }

  /** Waits for flushes in flight, makes everything durable, stops the interval timer. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.running || this.flushScheduled || this.waiters.length > 0) {
      await (this.flushing ?? new Promise<void>((r) => setImmediate(r)));
    }
  }
}
