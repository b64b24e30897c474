/**
 * The write side of an append, after validation of the call: plan (expected versions, command ids,
 * encoding), hand the transactions to the LogWriter, and index what was written.
 *
 * In `sync` durability the LogWriter writes submitted transactions at the start of its next flush,
 * so appends made while a flush runs share one write as well as one flush. The index learns of an
 * append when it is written, so an append touching a stream or command id that waits in that queue
 * first writes the queue: its checks then see everything before it, and call order is kept.
 */
import { type AppendItem, type Plan, planAppends, type StoreState, type VersionGuard } from './append-planner.js';
import { type AppendedEvent, type AppendResult, DuplicateCommandError, LimitExceededError } from './errors.js';
import { eventIdAt } from './format/record-decode.js';
import type { IndexedAppend, StoreIndex } from './index/store-index.js';
import type { LogWriter, TxOutcome } from './log-writer.js';
import { MAX_FROZEN_MEMTABLES } from './memory-budget.js';
import type { ResolvedOptions } from './options.js';
import type { StoreReader } from './store-reader.js';

/** Appends of up to this many items wait for the next write; larger ones are written at once. */
const MAX_DEFERRED_ITEMS = 8;
/** How long an append waits for room before it is refused. */
const BACKLOG_WAIT_MS = 5000;

export class AppendCommitter {
  /** Plans submitted and not written yet (sync durability). */
  private queued: Plan[] = [];
  /** Stream ids and command ids of the first `keyed` queued plans, built only when an append
   * arrives while plans are queued (one set: a stream id equal to a command id only costs an early
   * write). */
  private readonly queuedKeys = new Set<string>();
  private keyed = 0;

  /** What planning reads of the store: one object for every append, not a new one per call. */
  private readonly state: StoreState;
  private readonly maxPendingBytes: number;
  /** Appends waiting for room (waitForRoom), and the end of their chain. */
  private waiting = 0;
  private waitChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly writer: LogWriter,
    private readonly index: StoreIndex,
    reader: StoreReader,
    options: ResolvedOptions,
    rules: {
      gone: StoreState['gone'];
      /** The version floor of the stream's metadata: its events may have been erased below it. */
      floor(streamId: string): number;
    },
  ) {
    const searchDisk = options.commandLookup === 'disk';
    this.maxPendingBytes = options.limits.maxPendingBytes;
    this.state = {
      limits: options.limits,
      chunkSize: options.chunkSize,
      get deriveIds() {
        return writer.derivesIds;
      },
      latest: (s) => {
        const latest = index.latest(s);
        const floor = rules.floor(s);
        return floor > latest.version ? { version: floor, position: latest.position } : latest;
      },
      command: (c) => reader.commandOriginal(c, searchDisk),
      gone: rules.gone,
    };
  }

  async commit(
    items: AppendItem[],
    commandId: string | undefined,
    atomic: boolean,
    guards: readonly VersionGuard[] = [],
  ): Promise<(AppendResult | Error)[]> {
    if (this.waiting > 0 || this.backlog() !== undefined) await this.waitForRoom();
    // Small appends are queued for the next write; a bigger one gains little from sharing a write
    // and is written at once, after the queue (so nothing can conflict with what is queued).
    const defer = items.length <= MAX_DEFERRED_ITEMS;
    const touches = this.queued.length > 0 && (!defer || guards.length > 0 || this.touchesQueue(items, commandId));
    if (touches) this.writer.writePending();
    const plan = planAppends(items, commandId, atomic, this.state, guards);
    if (plan.transactions.length > 0) {
      if (defer) this.queued.push(plan);
      await this.writer.submit(
        plan.transactions.map((t) => t.encoded),
        (outcomes) => {
          // The writer writes its whole queue at once: nothing stays queued.
          if (this.queued.length > 0) {
            this.queued = [];
            this.queuedKeys.clear();
            this.keyed = 0;
          }
          this.written(plan, outcomes);
        },
        defer,
      );
    }
    for (const [i, earlier] of plan.repeats) {
      const first = plan.results[earlier] as AppendResult | Error;
      plan.results[i] = first instanceof Error ? first : new DuplicateCommandError(first.commandId as string, first);
    }
    return plan.results;
  }

  /**
   * While earlier appends left too much waiting, a new one waits before it is planned, behind any
   * already waiting (call order is kept: each waits for the one before it). Bounded: the encoded
   * appends queued for the next write (limits.maxPendingBytes), and the memtables waiting to be
   * built into segments (index builds behind, or failing). Both hold memory nothing else bounds;
   * waiting before planning keeps a burst's events unencoded. An append that waited
   * BACKLOG_WAIT_MS rejects with LIMIT_EXCEEDED (the index cannot be built, say).
   */
  private async waitForRoom(): Promise<void> {
    this.waiting++;
    const turn = this.waitChain.then(() => this.roomOrTimeout());
    this.waitChain = turn.catch(() => {});
    try {
      await turn;
    } finally {
      this.waiting--;
    }
  }

  private backlog(): string | undefined {
    if (this.writer.queuedBytes >= this.maxPendingBytes) {
      return `${this.writer.queuedBytes} bytes of appends wait for the disk, past limits.maxPendingBytes (${this.maxPendingBytes})`;
    }
    const behind = this.index.frozenMemtables;
    if (behind >= MAX_FROZEN_MEMTABLES) return `${behind} full memtables wait to be built into index segments`;
    return undefined;
  }

  private async roomOrTimeout(): Promise<void> {
    const deadline = Date.now() + BACKLOG_WAIT_MS;
    for (let why = this.backlog(); why !== undefined; why = this.backlog()) {
      if (Date.now() > deadline) throw new LimitExceededError(`${why} after ${BACKLOG_WAIT_MS} ms of waiting: the store cannot keep up`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  private touchesQueue(items: AppendItem[], commandId: string | undefined): boolean {
    for (; this.keyed < this.queued.length; this.keyed++) {
      for (const t of (this.queued[this.keyed] as Plan).transactions) {
        for (const a of t.appends) {
          this.queuedKeys.add(a.streamId);
          if (a.commandId !== undefined) this.queuedKeys.add(a.commandId);
        }
      }
    }
    if (commandId !== undefined && this.queuedKeys.has(commandId)) return true;
    for (const it of items) {
      if (typeof it !== 'object' || it === null) continue;
      if (typeof it.streamId === 'string' && this.queuedKeys.has(it.streamId)) return true;
      if (typeof it.commandId === 'string' && this.queuedKeys.has(it.commandId)) return true;
    }
    return false;
  }

  /** Fills the plan's results from the write's outcomes and indexes what was written. */
  private written(plan: Plan, outcomes: TxOutcome[]): void {
    const indexed: IndexedAppend[] = [];
    const identity = this.writer.identity;
    let end = 0;
    plan.transactions.forEach((t, i) => {
      const outcome = outcomes[i];
      if (!outcome || 'error' in outcome) {
        for (const k of t.itemIndexes) plan.results[k] = outcome?.error ?? new Error('not written');
        return;
      }
      end = outcome.start + t.encoded.buf.length;
      let f = 0;
      t.appends.forEach((a, k) => {
        const positions: number[] = [];
        const events: AppendedEvent[] = [];
        for (let e = 0; e < a.count; e++) {
          const off = t.encoded.frameOffsets[f++] as number;
          const position = outcome.start + off;
          positions.push(position);
          events.push({ id: eventIdAt(t.encoded.buf, off, position, identity), version: a.firstVersion + e, position });
        }
        const last = positions[positions.length - 1] as number;
        const result: AppendResult = {
          streamId: a.streamId,
          firstVersion: a.firstVersion,
          lastVersion: a.firstVersion + a.count - 1,
          position: last,
          events,
        };
        const entry: IndexedAppend = { streamId: a.streamId, firstVersion: a.firstVersion, positions, types: a.types };
        if (a.commandId !== undefined) result.commandId = entry.commandId = a.commandId;
        indexed.push(entry);
        plan.results[t.itemIndexes[k] as number] = result;
      });
    });
    // `end` is where this plan's last transaction ends, not the whole write's: the memtable must
    // not claim log it has no entries for yet.
    if (indexed.length > 0) this.index.add(indexed, end);
  }
}
