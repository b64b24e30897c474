/**
 * Group commit for the PostgreSQL store: append calls made while a transaction runs wait in a
 * queue and go together into the next one, in call order, each checked against the ones before
 * it; one transaction of this store runs at a time, so calls of one process apply in call order.
 *
 * A transaction is two round trips (append-sql.ts): its locks, reads and position allocation;
 * then, once the batch is planned against what it read, its rows and COMMIT.
 *
 * Faults: a connection that breaks before COMMIT was sent leaves nothing (the server rolls back),
 * and the batch is tried again on a new connection until `reconnectTimeoutMs`. One that breaks
 * while COMMIT is under way is settled by asking the server for the transaction's status
 * (`pg_xact_status`): committed appends are acknowledged, others tried again. An append is
 * acknowledged only after its COMMIT returned or was seen committed: nothing acknowledged is lost.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { type AppendResult, LimitExceededError, UnavailableError } from '../errors.js';
import { appendOneSql, findLone, loneItem, type OneRow, settleOne } from './append-one.js';
import type { PreparedItem } from './append-plan.js';
import { type AppendCall, BatchRows, type BatchState, planCall, settleRepeats } from './append-plan.js';
import { stateSql, writeSql } from './append-sql.js';
import { isConnectionError, toStoreError } from './pg-errors.js';
import type { Queries } from './queries.js';

/** Events and bytes one transaction takes at most (a larger single call goes alone). */
const MAX_BATCH_EVENTS = 20_000;
const MAX_BATCH_BYTES = 32 << 20;
const ROOM_WAIT_MS = 5000;

interface Queued {
  call: AppendCall;
  /** A read that must see every call queued before it and none queued after (subscribe fromEnd). */
  barrier?: () => Promise<void>;
  resolve: (results: (AppendResult | Error)[]) => void;
  reject: (err: Error) => void;
}

export interface BatcherHost {
  pool: pg.Pool;
  queries: Queries;
  schema: string;
  reconnectTimeoutMs: number;
  maxPendingBytes: number;
  /** Called after each commit with the transaction's id (as text). */
  committed(tx: string): void;
}

type Outcome = { done: true } | { done: false; error: Error; unknown: boolean };

interface StateRow {
  k: number;
  id: string;
  a: number;
  b: number;
  c: number;
  d: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The advisory lock key of a stream ('\0s\0') or command id ('\0c\0') of a schema: whoever
 * writes a stream's version or metadata holds it. */
export function lockKey(schema: string, kind: string, id: string): bigint {
  return createHash('sha1').update(schema).update(kind).update(id).digest().readBigInt64BE(0);
}

export class AppendBatcher {
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private running: Promise<void> | undefined;
  /** The connection appends use, kept between transactions (one runs at a time). */
  private client: pg.PoolClient | undefined;
  private waitChain: Promise<void> = Promise.resolve();

  constructor(private readonly host: BatcherHost) {}

  /** Queues a call; resolves with its per-item results once its transaction committed. */
  async submit(call: AppendCall): Promise<(AppendResult | Error)[]> {
    if (this.queuedBytes + call.bytes > this.host.maxPendingBytes && this.queue.length > 0) await this.waitForRoom(call.bytes);
    return new Promise((resolve, reject) => {
      this.queue.push({ call, resolve, reject });
      this.queuedBytes += call.bytes;
      this.kick();
    });
  }

  /** Runs `fn` once every call queued so far is settled, before any queued after. */
  barrier<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call: AppendCall = { groups: [], atomic: true, timestamp: 0, results: [], repeats: new Map(), eventCount: 0, bytes: 0 };
      const barrier = () => fn().then(resolve, reject);
      this.queue.push({ call, barrier, resolve: () => {}, reject });
      this.kick();
    });
  }

  /** Settles when nothing is queued or running. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Drains, then gives the append connection back (before the pool ends). */
  async close(): Promise<void> {
    await this.drain();
    if (this.client) this.drop(this.client, false);
  }

  private waitForRoom(bytes: number): Promise<void> {
    const turn = this.waitChain.then(async () => {
      const deadline = Date.now() + ROOM_WAIT_MS;
      while (this.queuedBytes + bytes > this.host.maxPendingBytes && this.queue.length > 0) {
        if (Date.now() > deadline) {
          throw new LimitExceededError(`${this.queuedBytes} bytes of appends wait for the database, past limits.maxPendingBytes`);
        }
        await sleep(1);
      }
    });
    this.waitChain = turn.catch(() => {});
    return turn;
  }

  private kick(): void {
    if (this.running) return;
    this.running = (async () => {
      try {
        while (this.queue.length > 0) await this.runBatch(this.take());
      } finally {
        this.running = undefined;
      }
    })();
  }

  private take(): Queued[] {
    let events = 0;
    let bytes = 0;
    let n = 0;
    for (const q of this.queue) {
      if (q.barrier) {
        if (n === 0) n = 1;
        break;
      }
      if (n > 0 && (events + q.call.eventCount > MAX_BATCH_EVENTS || bytes + q.call.bytes > MAX_BATCH_BYTES)) break;
      events += q.call.eventCount;
      bytes += q.call.bytes;
      n++;
    }
    const batch = this.queue.splice(0, n);
    this.queuedBytes -= bytes;
    return batch;
  }

  private async runBatch(batch: Queued[]): Promise<void> {
    if (batch[0]?.barrier) return batch[0].barrier();
    const work = batch.filter((q) => q.call.groups.length > 0);
    for (const q of batch) if (q.call.groups.length === 0) this.settle(q);
    if (work.length === 0) return;
    try {
      await this.withReconnect(work);
      for (const q of work) this.settle(q);
    } catch (err) {
      // One call's fault must not fail the others: alone, each gets its own outcome.
      if (work.length > 1 && !(err instanceof UnavailableError)) {
        for (const q of work) await this.runBatch([q]);
        return;
      }
      for (const q of work) q.reject(err as Error);
    }
  }

  private settle(q: Queued): void {
    settleRepeats(q.call);
    q.resolve(q.call.results);
  }

  /** Runs the transaction, again after connection faults, until it is decided or time is up. */
  private async withReconnect(work: Queued[]): Promise<void> {
    const deadline = Date.now() + this.host.reconnectTimeoutMs;
    for (let delay = 50; ; delay = Math.min(1000, delay * 2)) {
      const outcome = await this.transaction(work);
      if (outcome.done) return;
      if (Date.now() + delay > deadline) {
        throw new UnavailableError(
          `the append could not reach the database for ${this.host.reconnectTimeoutMs} ms: ${outcome.error.message}`,
          outcome.unknown ? 'unknown' : 'not_written',
          outcome.error,
        );
      }
      await sleep(delay);
    }
  }

  private lockKeys(work: Queued[]): { keys: string; streams: string[]; commands: string[] } {
    const streams = new Set<string>();
    const commands = new Set<string>();
    for (const q of work) {
      for (const g of q.call.groups)
        for (const it of g) {
          streams.add(it.streamId);
          if (it.commandId !== undefined) commands.add(it.commandId);
        }
    }
    const hash = (kind: string, id: string) => lockKey(this.host.schema, kind, id);
    const keys = [...new Set([...[...streams].map((s) => hash('\0s\0', s)), ...[...commands].map((c) => hash('\0c\0', c))])];
    keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { keys: keys.join(','), streams: [...streams], commands: [...commands] };
  }

  /** One try: done, or the connection fault that stopped it (and whether COMMIT was under way). */
  private async transaction(work: Queued[]): Promise<{ done: true } | { done: false; error: Error; unknown: boolean }> {
    const { pool, queries } = this.host;
    let client: pg.PoolClient;
    try {
      if (!this.client) {
        const fresh = await pool.connect();
        // A connection that breaks while idle is dropped at once: the next append connects anew
        // instead of sending into a dead socket (which would leave its outcome to be found out).
        const drop = () => this.drop(fresh, true);
        fresh.once('end', drop);
        fresh.on('error', drop);
        this.client = fresh;
      }
      client = this.client;
      (client as unknown as { ref?: () => void }).ref?.();
    } catch (err) {
      if (isConnectionError(err)) return { done: false, error: toStoreError(err, 'connect'), unknown: false };
      throw toStoreError(err, 'connect');
    }
    const { keys, streams, commands } = this.lockKeys(work);
    const lone = loneItem(work.map((q) => q.call));
    if (lone) return this.lone(client, work, lone, keys);
    let tx = '';
    let phase: 'before' | 'commit' = 'before';
    try {
      const total = work.reduce((n, q) => n + q.call.eventCount, 0);
      const lit = (v: string) => client.escapeLiteral(v);
      const results = (await client.query(stateSql(this.host.schema, keys, streams, commands, total, lit))) as unknown as pg.QueryResult[];
      const state: BatchState = { streams: new Map(), deletes: new Map(), commands: new Map(), nextPosition: 0 };
      for (const r of (results[results.length - 1] as pg.QueryResult).rows as StateRow[]) {
        if (r.k === 0) state.streams.set(r.id, { version: r.a, position: r.b });
        else if (r.k === 3) state.deletes.set(r.id, { hard: r.a === 1, truncateBefore: r.b ?? 0 });
        else if (r.k === 1)
          state.commands.set(r.id, { streamId: r.d, firstVersion: r.a, lastVersion: r.b, position: r.c, commandId: r.id });
        else {
          tx = r.id;
          state.nextPosition = r.a;
        }
      }
      const rows = new BatchRows(lit);
      const failures = new Map<Queued, Error>();
      for (const q of work) {
        for (const g of q.call.groups) for (const it of g) delete q.call.results[it.index];
        const failure = planCall(q.call, state, rows);
        if (failure) failures.set(q, failure);
      }
      phase = 'commit';
      await client.query(rows.eventCount > 0 ? writeSql(this.host.schema, rows, queries.channel) : 'ROLLBACK');
      // Held between transactions, the connection must not keep an idle process alive.
      (client as unknown as { unref?: () => void }).unref?.();
      for (const [q, failure] of failures) q.reject(failure);
      work.splice(0, work.length, ...work.filter((q) => !failures.has(q)));
      if (rows.eventCount > 0) this.host.committed(tx);
      return { done: true };
    } catch (err) {
      this.drop(client, true);
      if (!isConnectionError(err)) throw toStoreError(err, 'append');
      const error = toStoreError(err, 'append');
      if (phase === 'before' || tx === '') return { done: false, error, unknown: false };
      return this.afterCommitFault(tx, error, work);
    }
  }

  /** Gives the held connection back to the pool (destroyed when broken), once. */
  private drop(client: pg.PoolClient, broken: boolean): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.release(broken);
  }

  /** One call of one stream in one round trip (append-one.ts). */
  private async lone(client: pg.PoolClient, work: Queued[], item: PreparedItem, keys: string): Promise<Outcome> {
    const q = work[0] as Queued;
    const pid = (client as unknown as { processID: number }).processID;
    try {
      const lit = (v: string) => client.escapeLiteral(v);
      const sql = appendOneSql(this.host.schema, keys, item, q.call.timestamp, this.host.queries.channel, lit);
      const results = (await client.query(sql)) as unknown as pg.QueryResult[];
      (client as unknown as { unref?: () => void }).unref?.();
      return this.settleLone(work, item, (results[1] as pg.QueryResult).rows[0] as OneRow);
    } catch (err) {
      this.drop(client, true);
      if (!isConnectionError(err)) throw toStoreError(err, 'append');
      const error = toStoreError(err, 'append');
      // The client refused to send on a connection it knew was broken: nothing reached the server.
      if (/not queryable/.test((err as Error).message)) return { done: false, error, unknown: false };
      const deadline = Date.now() + this.host.reconnectTimeoutMs;
      for (let delay = 50; Date.now() < deadline; delay = Math.min(1000, delay * 2)) {
        const seen = await findLone(this.host.pool, this.host.schema, item, pid).catch(() => undefined);
        if (seen?.found) return this.settleLone(work, item, seen.found);
        if (seen) return { done: false, error, unknown: false };
        await sleep(delay);
      }
      q.reject(new UnavailableError(`the connection broke while the append committed: ${error.message}`, 'unknown', error));
      work.length = 0;
      return { done: true };
    }
  }

  private settleLone(work: Queued[], item: PreparedItem, row: OneRow): Outcome {
    const q = work[0] as Queued;
    const failure = settleOne(q.call, item, row);
    if (failure) {
      q.reject(failure);
      work.length = 0;
    }
    if (row.status === 0 && row.tx) this.host.committed(row.tx);
    return { done: true };
  }

  /** The connection broke while COMMIT ran: ask the server what became of the transaction. */
  private async afterCommitFault(
    tx: string,
    error: Error,
    work: Queued[],
  ): Promise<{ done: true } | { done: false; error: Error; unknown: boolean }> {
    const deadline = Date.now() + this.host.reconnectTimeoutMs;
    for (let delay = 50; Date.now() < deadline; delay = Math.min(1000, delay * 2)) {
      try {
        const r = await this.host.pool.query<{ s: string | null }>('SELECT pg_xact_status($1::xid8) AS s', [tx]);
        const status = r.rows[0]?.s;
        if (status === 'committed') {
          this.host.committed(tx);
          return { done: true };
        }
        if (status === 'aborted') return { done: false, error, unknown: false };
        if (status === null || status === undefined) break;
      } catch (err) {
        if (!isConnectionError(err)) break;
      }
      await sleep(delay);
    }
    // The results were planned for a commit that may have happened: they cannot be given as
    // written, nor planned again.
    for (const q of work)
      q.reject(new UnavailableError(`the connection broke while the append committed: ${error.message}`, 'unknown', error));
    work.length = 0;
    return { done: true };
  }
}
