/**
 * PostgresEventStore: the annals API on a PostgreSQL database, for applications that run as
 * several processes sharing one event log. Same methods, results and error classes as the
 * embedded EventStore (the conformance suite checks both); positions are this store's own global
 * sequence. Appends go through AppendBatcher (group commit, call order, fault handling); reads
 * are single statements, retried on a new connection while the server is out of reach; global
 * reads (`readAll`, subscriptions) see a prefix of the final order that never grows in the middle
 * (queries.ts `logAfter`, docs/postgres.md).
 */
import type pg from 'pg';
import type { AppendItem } from '../append-planner.js';
import { rejectUnknownKeys } from '../arg-checks.js';
import { type ConsumerInfo, type ConsumerSubscription, refuseSystemStreams } from '../consumers.js';
import { type AppendResult, InvalidArgumentError, ReadOnlyError, StoreClosedError } from '../errors.js';
import { type CopiedMetadata, RAW_LOG, RAW_METADATA } from '../raw-log.js';
import type { Snapshot } from '../snapshot-store.js';
import type { AggregateOptions, AnnalsStore, AppendManyItem, BaseStoreStats } from '../store-api.js';
import type { StoredMetadata, StreamMetadata } from '../stream-metadata.js';
import { READ_STREAM_KEYS } from '../stream-reads.js';
import type { Subscription } from '../subscription.js';
import type {
  AppendOptions,
  EventData,
  ExpectedVersion,
  ListStreamsOptions,
  ReadAllOptions,
  ReadStreamOptions,
  ReadViewOptions,
  RecordedEvent,
  StreamInfo,
  SubscribeOptions,
} from '../types.js';
import { checkCommandId, checkStreamId, isNonNegativeInteger } from '../validation.js';
import { AppendBatcher } from './append-batcher.js';
import { prepareCall } from './append-plan.js';
import { Listener } from './listener.js';
import { type PostgresStoreOptions, type ResolvedPostgresOptions, resolvePostgresOptions } from './options.js';
import { openPool } from './pg-connect.js';
import { PgConsumers } from './pg-consumers.js';
import { retrying } from './pg-errors.js';
import { checkObject, encodeSnapshot, fold, optionalCount } from './pg-helpers.js';
import { PgLifecycle } from './pg-lifecycle.js';
import { PgLog } from './pg-log.js';
import { buildQueries, type EventRow, type Queries, toEvent } from './queries.js';

export interface PostgresStoreStats extends BaseStoreStats {
  engine: 'postgres';
  schema: string;
}

export class PostgresEventStore implements AnnalsStore {
  private closed = false;
  private readonly queries: Queries;
  private readonly batcher: AppendBatcher;
  private readonly listener: Listener;
  private readonly log: PgLog;
  private readonly lifecycle: PgLifecycle;
  private readonly consumers: PgConsumers;
  /** The id of this store's latest committed append transaction: readAll waits until global
   * order reaches it, so a process reads its own acknowledged appends. */
  private ownTx = 0n;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly options: ResolvedPostgresOptions,
    config: pg.ClientConfig,
  ) {
    this.queries = buildQueries(options.schema);
    this.batcher = new AppendBatcher({
      pool,
      queries: this.queries,
      schema: options.schema,
      reconnectTimeoutMs: options.reconnectTimeoutMs,
      maxPendingBytes: options.limits.maxPendingBytes,
      committed: (tx) => {
        const t = BigInt(tx);
        if (t > this.ownTx) this.ownTx = t;
        this.listener.signal.notify();
      },
    });
    this.listener = new Listener(config, this.queries.channel, options.pollIntervalMs);
    const barrier = <T>(fn: () => Promise<T>) => this.batcher.barrier(fn);
    const withRetry = <T>(what: string, fn: () => Promise<T>) => this.withRetry(what, fn);
    this.log = new PgLog({
      queries: this.queries,
      schema: options.schema,
      limits: options.limits,
      visibilityWaitMs: options.visibilityWaitMs,
      listener: this.listener,
      rows: (q, values) => this.rows(q, values),
      checkOpen: () => this.checkOpen(),
      closed: () => this.closed,
      ownTx: () => this.ownTx,
      barrier,
      streamVersion: (id) => this.streamVersion(id),
    });
    this.lifecycle = new PgLifecycle({ pool, schema: options.schema, queries: this.queries, limits: options.limits, barrier, withRetry });
    this.consumers = new PgConsumers({
      pool,
      schema: options.schema,
      s: this.queries.schema,
      subscribeLog: (start, filter) => this.log.subscribeLog(start, filter),
      checkAfter: (after) => this.log.checkAfter(after),
      end: () => barrier(() => this.log.visibleEnd()),
      withRetry,
      warn: (m) => process.emitWarning(m, { code: 'ANNALS_CONSUMER' }),
    });
  }

  /**
   * Connects to the database at `url` (a `postgres://` connection string) and creates or migrates
   * the store's schema (unless readOnly). Keeps trying for `reconnectTimeoutMs` while the server
   * is out of reach, then fails with UnavailableError.
   */
  static async connect(url: string, options?: PostgresStoreOptions): Promise<PostgresEventStore> {
    if (typeof url !== 'string' || url.length === 0) throw new InvalidArgumentError('url must be a non-empty connection string');
    const o = resolvePostgresOptions(options);
    const { pool, config } = await openPool(url, o);
    return new PostgresEventStore(pool, o, config);
  }

  get engineName(): 'postgres' {
    return 'postgres';
  }

  get schema(): string {
    return this.options.schema;
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.options.readOnly) throw new ReadOnlyError();
  }

  /** Runs `fn` again while the server is out of reach, for up to reconnectTimeoutMs. */
  private withRetry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retrying(this.options.reconnectTimeoutMs, what, fn);
  }

  private async rows<T = EventRow>(q: { name?: string; text: string }, values: unknown[]): Promise<T[]> {
    return this.withRetry(q.name ?? 'query', async () => (await this.pool.query({ ...q, values })).rows as T[]);
  }

  // ---- writing ----

  async append(streamId: string, events: EventData[], options: AppendOptions = {}): Promise<AppendResult> {
    this.checkWritable();
    checkObject('options', options);
    const [r] = await this.commit([{ streamId, events, ...options }], undefined, true);
    if (r instanceof Error) throw r;
    return r as AppendResult;
  }

  async appendMany(items: AppendManyItem[], options: { commandId?: string; atomic?: boolean } = {}): Promise<(AppendResult | Error)[]> {
    this.checkWritable();
    if (!Array.isArray(items) || items.length === 0) throw new InvalidArgumentError('items must be a non-empty array');
    checkObject('options', options);
    const commandId = checkCommandId(options.commandId);
    const atomic = options.atomic ?? true;
    if (typeof atomic !== 'boolean') throw new InvalidArgumentError('atomic must be a boolean');
    const results = await this.commit(items, commandId, atomic);
    if (atomic) {
      const failure = results.find((r) => r instanceof Error);
      if (failure) throw failure;
    }
    return results;
  }

  private commit(items: AppendItem[], commandId: string | undefined, atomic: boolean): Promise<(AppendResult | Error)[]> {
    refuseSystemStreams(items);
    return this.batcher.submit(prepareCall(items, commandId, atomic, this.options.limits));
  }

  // ---- reading ----

  async streamVersion(streamId: string): Promise<number> {
    this.checkOpen();
    const id = checkStreamId(streamId, this.options.limits);
    const [r] = await this.rows<{ version: number }>(this.queries.streamVersion, [id]);
    return r?.version ?? 0;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.checkOpen();
    const id = checkStreamId(streamId, this.options.limits);
    checkObject('options', options);
    rejectUnknownKeys('readStream options', options, READ_STREAM_KEYS);
    const { fromVersion, direction = 'forward', limit } = options;
    optionalCount('fromVersion', fromVersion);
    optionalCount('limit', limit);
    if (direction !== 'forward' && direction !== 'backward') throw new InvalidArgumentError("direction must be 'forward' or 'backward'");
    const max = Math.min(limit ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    if (max === 0) return [];
    // Stream metadata hides events in the statement (queries.ts `visible`): a page holds `limit`
    // events reads return, from `fromVersion` on.
    if (direction === 'forward') return (await this.rows(this.queries.streamForward, [id, fromVersion ?? 1, max])).map(toEvent);
    return (await this.rows(this.queries.streamBackward, [id, fromVersion ?? Number.MAX_SAFE_INTEGER, max])).map(toEvent);
  }

  async readEvent(streamId: string, version: number): Promise<RecordedEvent | undefined> {
    this.checkOpen();
    const id = checkStreamId(streamId, this.options.limits);
    if (!isNonNegativeInteger(version)) throw new InvalidArgumentError('version must be a non-negative integer');
    if (version === 0) return undefined;
    const [r] = await this.rows(this.queries.streamAt, [id, version]);
    return r && toEvent(r);
  }

  /** A command whose events stream metadata hides answers as unknown; a retry is still refused as
   * a duplicate (the commands table keeps it). */
  async readCommand(commandId: string): Promise<RecordedEvent[] | undefined> {
    this.checkOpen();
    const id = checkCommandId(commandId);
    if (id === undefined) throw new InvalidArgumentError('commandId must be a non-empty string');
    const rows = await this.rows(this.queries.command, [id]);
    return rows.length === 0 ? undefined : rows.map(toEvent);
  }

  /** Every event in global order after `after`, through `filter` (pg-log.ts). */
  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    return this.log.readAll(options);
  }

  /** For `annals copy` (raw-log.ts): the log with hidden events, and every stream's metadata. */
  [RAW_LOG](): AsyncIterable<RecordedEvent> {
    return this.log.rawLog();
  }

  async [RAW_METADATA](): Promise<CopiedMetadata[]> {
    this.checkOpen();
    return this.lifecycle.all();
  }

  /**
   * Catches up, then follows new events: one stream or the global log (through `filter`); with
   * `consumer`, a durable consumer (pg-consumers.ts).
   */
  subscribe(options: SubscribeOptions & { consumer: string }): ConsumerSubscription;
  subscribe(options?: SubscribeOptions): Subscription;
  subscribe(options: SubscribeOptions = {}): Subscription | ConsumerSubscription {
    this.checkOpen();
    checkObject('options', options);
    if (options.consumer !== undefined) {
      this.checkWritable();
      return this.consumers.subscribe({ ...options, consumer: options.consumer });
    }
    return this.log.subscribe(options);
  }

  /** Moves a durable consumer's checkpoint: it resumes after `position` (0: from the start). */
  async resetConsumer(consumer: string, position: number): Promise<void> {
    this.checkWritable();
    await this.consumers.reset(consumer, position);
  }

  /** Every durable consumer, with its position and its lag behind the end. */
  async listConsumers(): Promise<ConsumerInfo[]> {
    this.checkOpen();
    return this.consumers.list();
  }

  /** Every stream, in byte order of the id (UTF-8), a page at a time (keyset over `streams`). */
  async listStreams(options: ListStreamsOptions = {}): Promise<{ streams: StreamInfo[]; next?: string }> {
    return this.log.listStreams(options);
  }

  /** A category's events (streams whose id starts with `<category>-`), in global order. */
  readCategory(category: string, options: ReadViewOptions = {}): AsyncIterable<RecordedEvent> {
    return this.log.readView('category', category, options);
  }

  /** The events of one type, in global order. */
  readByType(type: string, options: ReadViewOptions = {}): AsyncIterable<RecordedEvent> {
    return this.log.readView('type', type, options);
  }

  // ---- stream lifecycle (pg-lifecycle.ts) ----

  /** Deletes a stream: soft (it reads as empty; versions go on) or `hard` (STREAM_DELETED). */
  async deleteStream(streamId: string, options: { expectedVersion?: ExpectedVersion; hard?: boolean } = {}): Promise<{ position: number }> {
    this.checkWritable();
    return this.lifecycle.delete(streamId, options);
  }

  /** Sets a stream's retention rules (replacing the ones before; `{}` clears them). */
  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<{ position: number }> {
    this.checkWritable();
    return this.lifecycle.setMetadata(streamId, metadata);
  }

  /** A stream's retention rules, and whether it is hard-deleted. */
  async getStreamMetadata(streamId: string): Promise<StoredMetadata> {
    this.checkOpen();
    return this.lifecycle.getMetadata(streamId);
  }

  /** Streams written most recently, newest first, with their versions. */
  async recentStreams(limit = 50): Promise<{ streamId: string; version: number }[]> {
    this.checkOpen();
    optionalCount('limit', limit);
    const rows = await this.rows<{ stream_id: string; version: number }>(this.queries.recentStreams, [Math.min(limit, 1000)]);
    return rows.map((r) => ({ streamId: r.stream_id, version: r.version }));
  }

  // ---- snapshots ----

  async saveSnapshot(streamId: string, version: number, state: unknown): Promise<void> {
    this.checkWritable();
    const id = checkStreamId(streamId, this.options.limits);
    if (!isNonNegativeInteger(version) || version < 1) throw new InvalidArgumentError('version must be a positive integer');
    const [text, bytes] = encodeSnapshot(state);
    const current = await this.streamVersion(id);
    if (version > current) throw new InvalidArgumentError(`stream '${id}' is at version ${current}; cannot snapshot version ${version}`);
    await this.rows(this.queries.saveSnapshot, [id, version, text, bytes]);
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    this.checkOpen();
    const id = checkStreamId(streamId, this.options.limits);
    const [r] = await this.rows<{ version: number; state: string | null; state_bytes: Buffer | null }>(this.queries.loadSnapshot, [id]);
    if (!r) return undefined;
    const b = r.state_bytes;
    return { version: r.version, state: r.state !== null ? JSON.parse(r.state) : new Uint8Array(b ?? []) };
  }

  async aggregate<S>(streamId: string, options: AggregateOptions<S>): Promise<{ state: S; version: number }> {
    this.checkOpen();
    const id = checkStreamId(streamId, this.options.limits);
    checkObject('options', options);
    if (typeof options.evolve !== 'function') throw new InvalidArgumentError('evolve must be a function');
    optionalCount('snapshotEvery', options.snapshotEvery);
    const [v] = await this.rows<{ version: number; first: number | null }>(this.queries.streamVisibility, [id]);
    return fold(this, id, options, v?.version ?? 0, v?.first ?? Number.POSITIVE_INFINITY, !this.options.readOnly);
  }

  // ---- lifecycle ----

  /** Waits for every append made so far: a committed transaction is durable (with the server's
   * default synchronous_commit). */
  async flush(): Promise<void> {
    this.checkOpen();
    await this.batcher.drain();
  }

  async stats(): Promise<PostgresStoreStats> {
    this.checkOpen();
    const [r] = await this.rows<{ events: number; streams: number; commands: number; end: number; bytes: number }>(this.queries.stats, [
      this.options.schema,
    ]);
    return {
      engine: 'postgres',
      schema: this.options.schema,
      eventCount: r?.events ?? 0,
      streamCount: r?.streams ?? 0,
      commandCount: r?.commands ?? 0,
      endPosition: r?.end ?? 0,
      bytesOnDisk: Number(r?.bytes ?? 0),
    };
  }

  /** Waits for the appends already made, then closes every connection; later calls reject with
   * StoreClosedError; subscriptions end. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listener.close();
    try {
      await this.consumers.close();
      await this.batcher.close();
    } finally {
      await this.pool.end().catch(() => {});
    }
  }
}
