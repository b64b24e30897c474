/**
 * Durable consumers of the PostgreSQL store, with the embedded store's contract (consumers.ts):
 * a subscription of the global log whose checkpoint (the position of the last event handled) is
 * kept in the `consumers` table, so a consumer that restarts, in any process, resumes after it:
 * at-least-once, no gap, at most the unsaved tail again.
 *
 * One live subscription per name across every process: a live subscription holds a session
 * advisory lock on the consumer's name, on one connection of this store kept for these locks. A
 * second subscription in this process is refused at once (CONSUMER_BUSY); one in another process
 * is refused on its first step, when its lock is not granted. A process that dies loses its
 * connection and so its locks: the consumer is free again at once. If the lock connection breaks,
 * the locks are gone and the live subscriptions end with UNAVAILABLE (another process may take
 * the consumer over).
 *
 * Handled positions are saved every SAVE_INTERVAL_MS while they move (one statement for all), by
 * `checkpoint()`, and when the subscription ends, before its lock is released.
 */
import type pg from 'pg';
import { consumerSubscription } from '../consumer-subscription.js';
import { type ConsumerInfo, type ConsumerSubscription, checkConsumerName, checkConsumerOptions, LAG_COUNT_CAP } from '../consumers.js';
import { ConsumerBusyError, InvalidArgumentError, UnavailableError } from '../errors.js';
import type { EventFilter } from '../event-filter.js';
import type { Subscription } from '../subscription.js';
import type { SubscribeOptions } from '../types.js';
import { isNonNegativeInteger } from '../validation.js';
import { lockKey } from './append-batcher.js';
import { sqlFilter } from './pg-log.js';
import { visible } from './queries.js';

const SAVE_INTERVAL_MS = 1000;

export interface PgConsumerDeps {
  pool: pg.Pool;
  schema: string;
  /** The schema, quoted. */
  s: string;
  subscribeLog(start: Promise<number>, filter: EventFilter | undefined): Subscription;
  checkAfter(after: number): Promise<number>;
  /** The end of the global order, behind this process's appends so far. */
  end(): Promise<number>;
  withRetry<T>(what: string, fn: () => Promise<T>): Promise<T>;
  warn(message: string): void;
}

interface Live {
  handled: number;
  saved: number;
  filter: EventFilter | undefined;
  lost: boolean;
  /** Its advisory lock is held. */
  locked?: boolean;
  inner?: Subscription;
}

export class PgConsumers {
  private readonly live = new Map<string, Live>();
  /** Saves of subscriptions that ended, by name (their lock is released after). */
  private readonly ending = new Map<string, Promise<void>>();
  private lockClient: Promise<pg.PoolClient> | undefined;
  private readonly timer: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly d: PgConsumerDeps) {
    this.timer = setInterval(() => {
      this.save([...this.live]).catch((err: Error) => d.warn(`consumer checkpoints not saved: ${err.message}`));
    }, SAVE_INTERVAL_MS);
    this.timer.unref();
  }

  private key(name: string): string {
    return lockKey(this.d.schema, '\0k\0', name).toString();
  }

  /** The connection holding the consumers' locks; when it breaks, every live consumer ends. */
  private locks(): Promise<pg.PoolClient> {
    this.lockClient ??= this.d.pool.connect().then((c) => {
      const lost = () => {
        if (this.lockClient === undefined) return;
        this.lockClient = undefined;
        c.release(true);
        for (const state of this.live.values()) {
          state.lost = true;
          state.inner?.close();
        }
      };
      c.on('error', lost);
      c.on('end', lost);
      return c;
    });
    this.lockClient.catch(() => {
      this.lockClient = undefined;
    });
    return this.lockClient;
  }

  private async lock(name: string): Promise<void> {
    const c = await this.d.withRetry('consumer lock', () => this.locks());
    const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [this.key(name)]);
    if (!r.rows[0]?.ok) throw new ConsumerBusyError(name);
  }

  private async unlock(name: string): Promise<void> {
    const c = await this.lockClient?.catch(() => undefined);
    await c?.query('SELECT pg_advisory_unlock($1::bigint)', [this.key(name)]).catch(() => {});
  }

  private async saved(name: string): Promise<{ position: number; filter?: EventFilter } | undefined> {
    const r = await this.d.withRetry('consumer checkpoint', () =>
      this.d.pool.query<{ position: number; filter: string | null }>(`SELECT position, filter FROM ${this.d.s}.consumers WHERE name = $1`, [
        name,
      ]),
    );
    const row = r.rows[0];
    if (!row) return undefined;
    return row.filter === null ? { position: row.position } : { position: row.position, filter: JSON.parse(row.filter) };
  }

  subscribe(options: SubscribeOptions & { consumer: string }): ConsumerSubscription {
    const name = checkConsumerOptions(options);
    if (this.live.has(name)) throw new ConsumerBusyError(name);
    const state: Live = { handled: 0, saved: 0, filter: options.filter, lost: false };
    this.live.set(name, state);
    const { from } = options;
    // The end is asked for now, behind the appends made so far and before any made later.
    const endNow = from === 'end' ? this.d.end() : undefined;
    endNow?.catch(() => {});
    // The lock first (after a subscription of this name that just ended has saved), then where to
    // start: the saved checkpoint, else `from`.
    const locking = (async () => {
      await this.ending.get(name);
      await this.lock(name);
      state.locked = true;
    })();
    const start = locking.then(async () => {
      const saved = await this.saved(name);
      if (saved) {
        state.handled = state.saved = saved.position;
        return saved.position;
      }
      if (endNow) return endNow; // saves nothing until it handles an event
      if (typeof from === 'number' && from > 0) state.handled = await this.d.checkAfter(from);
      return state.handled;
    });
    const inner = this.d.subscribeLog(start, options.filter);
    state.inner = inner;
    return consumerSubscription({
      consumer: name,
      inner,
      state,
      ended: () => {
        if (this.live.get(name) !== state) return;
        this.live.delete(name);
        // Saved before the lock is released (also when it is granted after the end), so the next
        // subscription, here or in another process, starts after it.
        const done = (async () => {
          await locking.catch(() => {});
          if (!state.locked) return;
          try {
            if (!state.lost) await this.save([[name, state]]);
          } catch (err) {
            this.d.warn(`consumer '${name}' checkpoint not saved: ${(err as Error).message}`);
          }
          await this.unlock(name);
        })();
        this.ending.set(name, done);
        void done.finally(() => {
          if (this.ending.get(name) === done) this.ending.delete(name);
        });
      },
      save: () => this.save([[name, state]]),
      // The lock is gone: another process may own the consumer now.
      failure: () =>
        state.lost ? new UnavailableError(`consumer '${name}': the connection holding its lock broke`, 'not_written') : undefined,
    });
  }

  /** Moves a consumer's checkpoint: it resumes after `position` (0: from the start). */
  async reset(consumer: unknown, position: unknown): Promise<void> {
    const name = checkConsumerName(consumer);
    if (!isNonNegativeInteger(position)) throw new InvalidArgumentError(`position must be a non-negative integer, got ${typeof position}`);
    if (this.live.has(name)) throw new ConsumerBusyError(name);
    await this.d.checkAfter(position);
    await this.ending.get(name);
    await this.lock(name);
    try {
      await this.d.withRetry('resetConsumer', () =>
        this.d.pool.query(
          `INSERT INTO ${this.d.s}.consumers (name, position, filter) VALUES ($1, $2, NULL)
           ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, filter = NULL`,
          [name, position],
        ),
      );
    } finally {
      await this.unlock(name);
    }
  }

  /** Every consumer with a checkpoint or a live subscription here, its position and its lag. */
  async list(): Promise<ConsumerInfo[]> {
    await this.saving;
    await Promise.all(this.ending.values());
    const r = await this.d.withRetry('listConsumers', () =>
      this.d.pool.query<{ name: string; position: number; filter: string | null }>(
        `SELECT name, position, filter FROM ${this.d.s}.consumers ORDER BY name COLLATE "C"`,
      ),
    );
    const saved = new Map(r.rows.map((row) => [row.name, row]));
    const names = [...new Set([...saved.keys(), ...this.live.keys()])].sort();
    const out: ConsumerInfo[] = [];
    for (const name of names) {
      const row = saved.get(name);
      const live = this.live.get(name);
      const position = Math.max(live?.handled ?? 0, row?.position ?? 0);
      const filter: EventFilter | undefined = live ? live.filter : row?.filter ? JSON.parse(row.filter) : undefined;
      const lag = await this.lag(position, filter);
      out.push({ name, position, live: live !== undefined, lag, lagCapped: lag >= LAG_COUNT_CAP, ...(filter ? { filter } : {}) });
    }
    return out;
  }

  /** Events after `position` that `filter` passes and reads return, counted up to the cap. */
  private async lag(position: number, filter: EventFilter | undefined): Promise<number> {
    const f = sqlFilter(filter, 3);
    const s = this.d.s;
    const text = `SELECT count(*) AS n FROM (SELECT 1 FROM ${s}.events ev WHERE ev.position > $1 AND ${f?.where ?? 'true'}
      AND ${visible(s)} LIMIT $2) t`;
    const r = await this.d.withRetry('listConsumers', () =>
      this.d.pool.query<{ n: number }>(text, [position, LAG_COUNT_CAP, ...(f?.values ?? [])]),
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /** Saves every moved checkpoint, releases the locks and stops the timer: the store is closing. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.save([...this.live]).catch((err: Error) => this.d.warn(`consumer checkpoints not saved: ${err.message}`));
    for (const state of this.live.values()) state.inner?.close();
    await Promise.all(this.ending.values());
    const c = await this.lockClient?.catch(() => undefined);
    this.lockClient = undefined;
    c?.release(true); // closing the connection releases every lock it holds
  }

  /** Upserts the checkpoints of the given consumers that moved since saved, in one statement;
   * saves run one after the other, so a later save never lands before an earlier one. */
  private save(consumers: [string, Live][]): Promise<void> {
    const run = this.saving.then(async () => {
      const moved = consumers.filter(([, s]) => s.handled > s.saved && !s.lost);
      if (moved.length === 0) return;
      const marks = moved.map(([, s]) => s.handled);
      await this.d.withRetry('consumer checkpoint', () =>
        this.d.pool.query(
          `INSERT INTO ${this.d.s}.consumers (name, position, filter)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
           ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, filter = EXCLUDED.filter`,
          [moved.map(([n]) => n), marks, moved.map(([, s]) => (s.filter === undefined ? null : JSON.stringify(s.filter)))],
        ),
      );
      moved.forEach(([, s], i) => {
        s.saved = Math.max(s.saved, marks[i] as number);
      });
    });
    this.saving = run.catch(() => {});
    return run;
  }
}
