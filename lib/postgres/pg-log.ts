import { InvalidArgumentError } from '../errors.js';
import { compileFilter, type EventFilter } from '../event-filter.js';
import { SEGMENT_KIND_CATEGORY, SEGMENT_KIND_TYPE } from '../format/index-layout.js';
import type { ResolvedLimits } from '../options.js';
import { checkListOptions, checkReadAllOptions, checkSubscribeOptions, checkViewName, checkViewOptions } from '../read-models.js';
import type { Subscription } from '../subscription.js';
import type { ListStreamsOptions, ReadAllOptions, ReadViewOptions, RecordedEvent, StreamInfo, SubscribeOptions } from '../types.js';
import { checkStreamId } from '../validation.js';
import type { Listener } from './listener.js';
import { type EventRow, horizonSql, type Queries, toEvent } from './queries.js';

const BATCH = 500;
/** Distinct filter shapes whose statements are kept prepared (the rest run unnamed). */
const MAX_NAMED = 64;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Query = { name?: string; text: string };

export interface PgLogDeps {
  queries: Queries;
  schema: string;
  limits: ResolvedLimits;
  visibilityWaitMs: number;
  listener: Listener;
  rows<T = EventRow>(q: Query, values: unknown[]): Promise<T[]>;
  checkOpen(): void;
  closed(): boolean;
  /** The id of this process's latest committed append transaction. */
  ownTx(): bigint;
  /** Runs `fn` after every append queued so far, before any queued later. */
  barrier<T>(fn: () => Promise<T>): Promise<T>;
  streamVersion(id: string): Promise<number>;
}

/** A filter as SQL: a condition on `ev` and its parameters from `$first` on. */
interface SqlFilter {
  key: string;
  where: string;
  values: string[][];
}

/** LIKE pattern of the ids starting with `p`. */
const likePrefix = (p: string) => `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Checks a filter (INVALID_ARGUMENT, as the embedded store) and turns it into SQL. */
export function sqlFilter(filter: unknown, first: number): SqlFilter | undefined {
  if (compileFilter(filter) === undefined) return undefined;
  const f = filter as EventFilter;
  const list = (v: string | readonly string[] | undefined) => (v === undefined ? undefined : typeof v === 'string' ? [v] : [...v]);
  const parts: [string, string, string[] | undefined][] = [
    ['p', 'ev.stream_id LIKE ANY', list(f.streamPrefix)?.map(likePrefix)],
    ['c', 'ev.category = ANY', list(f.category)],
    ['t', 'ev.type = ANY', list(f.types)],
  ];
  const out: SqlFilter = { key: '', where: 'true', values: [] };
  for (const [k, cond, values] of parts) {
    if (!values) continue;
    out.key += k;
    out.where += ` AND ${cond}($${first + out.values.length}::text[])`;
    out.values.push(values);
  }
  return out;
}

export class PgLog {
  private readonly named = new Map<string, Query>();

  constructor(private readonly d: PgLogDeps) {}

  /** A statement of a given shape, prepared per connection for the first MAX_NAMED shapes. */
  private query(key: string, text: () => string): Query {
    let q = this.named.get(key);
    if (!q) {
      q = this.named.size < MAX_NAMED ? { name: `annals.${this.d.schema}.${key}`, text: text() } : { text: text() };
      if (q.name) this.named.set(key, q);
    }
    return q;
  }

  private logQuery(filter: SqlFilter | undefined): Query {
    if (!filter) return this.d.queries.logAfter;
    return this.query(`log.${filter.key}`, () => horizonSql(this.d.queries.schema, `ev.position > $1 AND ${filter.where}`, 'ASC', '$2'));
  }

  /**
   * Up to `max` rows of `q` and the end of the prefix they were read from (`vend`). When they end
   * before this store's own latest append is readable (older transactions of other writers still
   * run), waits for them, up to visibilityWaitMs.
   */
  private async batch(q: Query, values: unknown[], max: number, waitForOwn: boolean): Promise<{ events: RecordedEvent[]; vend: number }> {
    const deadline = Date.now() + this.d.visibilityWaitMs;
    for (let delay = 1; ; delay = Math.min(50, delay * 2)) {
      const rows = await this.d.rows<EventRow & { horizon: string; vend: number }>(q, values);
      const events = rows.filter((r) => r.position !== null).map(toEvent);
      const horizon = BigInt(rows[0]?.horizon ?? '0');
      const vend = rows[0]?.vend ?? 0;
      if (events.length === max || !waitForOwn || this.d.ownTx() < horizon || Date.now() > deadline || this.d.closed()) {
        return { events, vend };
      }
      await sleep(delay);
    }
  }

  /** Checks that `after` is an event's position (0: the start). */
  async checkAfter(after: number | undefined): Promise<number> {
    if (after === undefined || after === 0) return 0;
    const found = await this.d.rows(this.d.queries.isPosition, [after]);
    if (found.length === 0) throw new InvalidArgumentError(`no event at position ${after}`);
    return after;
  }

  readAll(options: ReadAllOptions): AsyncIterable<RecordedEvent> {
    const self = this;
    const d = this.d;
    return {
      async *[Symbol.asyncIterator]() {
        d.checkOpen();
        checkReadAllOptions(options);
        const filter = sqlFilter(options.filter, 3);
        const q = self.logQuery(filter);
        let cursor = await self.checkAfter(options.after);
        let left = options.limit ?? Number.MAX_SAFE_INTEGER;
        while (left > 0 && !d.closed()) {
          const max = Math.min(BATCH, left);
          const { events } = await self.batch(q, [cursor, max, ...(filter?.values ?? [])], max, true);
          for (const e of events) yield e;
          left -= events.length;
          if (events.length < max) return;
          cursor = (events[events.length - 1] as RecordedEvent).position;
        }
      },
    };
  }

  /** The global log with the events stream metadata hides (raw-log.ts: `annals copy` only). */
  rawLog(): AsyncIterable<RecordedEvent> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.d.checkOpen();
        for (let cursor = 0; !self.d.closed(); ) {
          const { events } = await self.batch(self.d.queries.rawLogAfter, [cursor, BATCH], BATCH, true);
          yield* events;
          if (events.length < BATCH) return;
          cursor = (events[events.length - 1] as RecordedEvent).position;
        }
      },
    };
  }

  /** A subscription of one stream or of the global log (not a consumer). */
  subscribe(options: SubscribeOptions): Subscription {
    checkSubscribeOptions(options);
    if (options.streamId === undefined) {
      sqlFilter(options.filter, 3); // checked now, not at the first step
      const start = options.fromEnd ? this.d.barrier(() => this.visibleEnd()) : this.checkAfter(options.after);
      return this.subscribeLog(start, options.filter);
    }
    if (options.filter !== undefined) throw new InvalidArgumentError('filter is for the global log: not with streamId');
    const id = checkStreamId(options.streamId, this.d.limits);
    // Where the subscription starts is asked for now (behind the appends already made, before any
    // made later), and awaited on the first step: a bad `after` rejects there.
    const start: Promise<number> = options.fromEnd
      ? this.d.barrier(async () => (await this.d.streamVersion(id)) + 1)
      : options.after === undefined
        ? Promise.resolve(1)
        : this.checkAfter(options.after).then(
            async (a) => (await this.d.rows<{ v: number }>(this.d.queries.firstVersionAfter, [id, a]))[0]?.v ?? 1,
          );
    start.catch(() => {}); // rejects on the first step
    let cursor: number | undefined;
    return this.d.listener.subscription(async () => {
      cursor ??= await start;
      const events = (await this.d.rows(this.d.queries.streamForward, [id, cursor, BATCH])).map(toEvent);
      // Events stream metadata hides are not returned: the cursor follows the versions read.
      if (events.length > 0) cursor = (events[events.length - 1] as RecordedEvent).version + 1;
      return events;
    }, this.d.closed);
  }

  /** The last position of the global order's readable prefix. */
  async visibleEnd(): Promise<number> {
    return (await this.d.rows<{ p: number }>(this.d.queries.visibleEnd, []))[0]?.p ?? 0;
  }

  /** A subscription of the global log after the position `start` resolves to, through `filter`. */
  subscribeLog(start: Promise<number>, filter: EventFilter | undefined): Subscription {
    start.catch(() => {}); // rejects on the first step
    const f = sqlFilter(filter, 3);
    const q = this.logQuery(f);
    let cursor: number | undefined;
    return this.d.listener.subscription(async () => {
      cursor ??= await start;
      const { events, vend } = await this.batch(q, [cursor, BATCH, ...(f?.values ?? [])], BATCH, false);
      if (events.length > 0) cursor = (events[events.length - 1] as RecordedEvent).position;
      // Fewer than asked for: every event up to the prefix's end was looked at.
      if (events.length < BATCH && f) cursor = Math.max(cursor, vend);
      return events;
    }, this.d.closed);
  }

  /** A category's or type's events in global order, or backward from the end. */
  readView(kind: 'category' | 'type', name: unknown, options: ReadViewOptions): AsyncIterable<RecordedEvent> {
    const self = this;
    const d = this.d;
    return {
      async *[Symbol.asyncIterator]() {
        d.checkOpen();
        const checked = checkViewName(kind === 'category' ? SEGMENT_KIND_CATEGORY : SEGMENT_KIND_TYPE, name, d.limits);
        const backward = checkViewOptions(options) === 'backward';
        const col = kind === 'category' ? 'ev.category' : 'ev.type';
        const where = backward ? `${col} = $3 AND ev.position < $1` : `${col} = $3 AND ev.position > $1`;
        const q = self.query(`view.${kind}.${backward ? 'b' : 'f'}`, () =>
          horizonSql(d.queries.schema, where, backward ? 'DESC' : 'ASC', '$2'),
        );
        let cursor = options.after ?? (backward ? Number.MAX_SAFE_INTEGER : 0);
        let left = options.limit ?? Number.MAX_SAFE_INTEGER;
        while (left > 0 && !d.closed()) {
          const max = Math.min(BATCH, left);
          const { events } = await self.batch(q, [cursor, max, checked], max, true);
          for (const e of events) yield e;
          left -= events.length;
          if (events.length < max) return;
          cursor = (events[events.length - 1] as RecordedEvent).position;
        }
      },
    };
  }

  /** A page of streams in byte order of their ids (UTF-8), a keyset query over `streams`. */
  async listStreams(options: ListStreamsOptions): Promise<{ streams: StreamInfo[]; next?: string }> {
    this.d.checkOpen();
    const { prefix = '', after = '', limit } = checkListOptions(options);
    const upper = prefixEnd(prefix);
    const q = upper === undefined ? this.d.queries.listStreams : this.d.queries.listStreamsBounded;
    const rows = await this.d.rows<{ stream_id: string; version: number; first_position: number; last_position: number }>(q, [
      after,
      prefix,
      limit + 1,
      ...(upper === undefined ? [] : [upper]),
    ]);
    const streams = rows.slice(0, limit).map((r) => ({
      streamId: r.stream_id,
      version: r.version,
      firstPosition: r.first_position,
      lastPosition: r.last_position,
    }));
    return rows.length > limit ? { streams, next: (streams[streams.length - 1] as StreamInfo).streamId } : { streams };
  }
}

/**
 * The least string above every string that starts with `prefix`, in UTF-8 byte order (code point
 * order): the prefix with its last code point raised by one (past the surrogates); undefined when
 * there is none (no prefix, or only U+10FFFF).
 */
export function prefixEnd(prefix: string): string | undefined {
  const cps = [...prefix];
  while (cps.length > 0) {
    const last = (cps.pop() as string).codePointAt(0) as number;
    if (last < 0x10ffff) {
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return cps.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}
