/**
 * EventStore: the public facade. Validates arguments, checks expected versions and command ids
 * against the index, encodes each append as one transaction, hands it to the LogWriter (placement,
 * engine, group commit) and updates the index. Checks and writes of an append happen synchronously
 * within the call, so appends are applied in call order and exactly one of two appends expecting
 * the same version wins. Reads go through StoreReader; docs/api.md describes the whole surface.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppendCommitter } from './append-committer.js';
import type { AppendItem } from './append-planner.js';
import { DamagedRecords } from './damaged-records.js';
import type { HeldLock } from './dir-lock.js';
import type { LogEngine, OpenReport } from './engine/log-engine.js';
import { type AnnalsError, type AppendResult, InvalidArgumentError, ReadOnlyError, StoreClosedError } from './errors.js';
import type { SegmentCatalog } from './index/segment-catalog.js';
import { StoreIndex } from './index/store-index.js';
import { LogWriter } from './log-writer.js';
import { openParts, warn } from './open-store.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import { type Snapshot, SnapshotStore } from './snapshot-store.js';
import type { AggregateOptions, AnnalsStore, AppendManyItem, SubscribeOptions } from './store-api.js';
import { StoreReader } from './store-reader.js';
import { type Subscription, subscription, VisibilitySignal } from './subscription.js';
import type {
  AppendOptions,
  EngineName,
  EventData,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StoreOptions,
  StoreStats,
} from './types.js';
import { checkCommandId, checkStreamId, isNonNegativeInteger } from './validation.js';

export type { AggregateOptions, AppendManyItem } from './store-api.js';

function checkObject(name: string, v: unknown): void {
  if (typeof v !== 'object' || v === null) throw new InvalidArgumentError(`${name} must be an object`);
}

function optionalCount(name: string, v: unknown): void {
  if (v !== undefined && !isNonNegativeInteger(v)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
}

export class EventStore implements AnnalsStore {
  private closed = false;
  private readonly writer: LogWriter;
  private readonly index: StoreIndex;
  private readonly reader: StoreReader;
  private readonly committer: AppendCommitter;
  private readonly signal = new VisibilitySignal();
  private readonly snapshots: SnapshotStore;
  private readonly damaged = new DamagedRecords((m) => warn(m, 'ANNALS_CORRUPTION'));

  private constructor(
    readonly directory: string,
    private readonly options: ResolvedOptions,
    private readonly engine: LogEngine,
    private readonly lock: HeldLock | undefined,
    private readonly recovery: OpenReport,
    catalog: SegmentCatalog,
  ) {
    for (const position of recovery.damaged) this.damaged.note(position, 'kept by recovery: valid records follow it');
    // The index first: its replay can fail, and nothing that needs stopping (the writer's interval
    // timer) exists yet when it does.
    this.index = new StoreIndex({
      engine,
      catalog,
      writable: !options.readOnly,
      memtableEntries: options.indexMemtableEntries,
      maxSegments: options.maxIndexSegments,
      retentionMs: options.retentionMs,
      maxRecentStreams: options.maxRecentStreams,
      maxRecentCommands: options.maxRecentCommands,
      logEnd: () => engine.endPosition(),
      flushLog: () => this.writer.flush(),
      warn: (m) => warn(m, 'ANNALS_INDEX'),
      onDamaged: (position, err) => this.damaged.note(position, err.message),
    });
    this.writer = new LogWriter(engine, options, recovery.identityChunk, () => this.signal.notify());
    this.reader = new StoreReader(engine, this.index, () => this.writer.visibleEnd);
    this.committer = new AppendCommitter(this.writer, this.index, this.reader, options);
    this.snapshots = new SnapshotStore(path.join(directory, 'snapshots'), (m) => warn(m, 'ANNALS_SNAPSHOT'));
  }

  /** Opens (creating unless readOnly) the store in `dir`. */
  static async open(dir: string, options?: StoreOptions): Promise<EventStore> {
    if (typeof dir !== 'string' || dir.length === 0) throw new InvalidArgumentError('dir must be a non-empty string');
    const o = resolveOptions(options);
    const p = openParts(dir, o);
    try {
      return new EventStore(dir, p.options, p.engine, p.lock, p.recovery, p.catalog);
    } catch (err) {
      // A failed open leaves nothing held: the next open, in this process or another, may proceed.
      p.catalog.close();
      p.engine.close();
      p.lock?.release();
      throw err;
    }
  }

  /** Which engine serves this store. */
  get engineName(): EngineName {
    return this.engine.name;
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.options.readOnly) throw new ReadOnlyError();
    const failed: AnnalsError | undefined = this.writer.failed;
    if (failed) throw failed;
  }

  // ---- writing ----

  /** Appends events to one stream, atomically. */
  async append(streamId: string, events: EventData[], options: AppendOptions = {}): Promise<AppendResult> {
    this.checkWritable();
    checkObject('options', options);
    const [r] = await this.commit([{ streamId, events, ...options }], undefined, true);
    if (r instanceof Error) throw r;
    return r as AppendResult;
  }

  /**
   * Appends to several streams in one call. `atomic` (default): one transaction, all or nothing,
   * rejecting with the first failure. Otherwise each item succeeds or fails on its own.
   */
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
    return this.committer.commit(items, commandId, atomic);
  }

  // ---- reading ----

  /** The stream's current version: the number of its events (0 when it has none). */
  async streamVersion(streamId: string): Promise<number> {
    this.checkOpen();
    return this.reader.visibleVersion(checkStreamId(streamId, this.options.limits));
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.checkOpen();
    const id = checkStreamId(streamId, this.options.limits);
    checkObject('options', options);
    const { fromVersion, direction = 'forward', limit } = options;
    optionalCount('fromVersion', fromVersion);
    optionalCount('limit', limit);
    if (direction !== 'forward' && direction !== 'backward') throw new InvalidArgumentError("direction must be 'forward' or 'backward'");
    const max = limit ?? Number.MAX_SAFE_INTEGER;
    if (max === 0) return [];
    if (direction === 'forward') {
      // No need for the latest version: versions past it have no entries, and the reader drops
      // what is not visible yet.
      const from = Math.max(1, fromVersion ?? 1);
      return this.reader.streamRange(id, from, Math.min(0xffffffff, from + max - 1));
    }
    const visible = this.reader.visibleVersion(id);
    const from = Math.min(visible, fromVersion ?? visible);
    return this.reader.streamRange(id, Math.max(1, from - max + 1), from).reverse();
  }

  async readEvent(streamId: string, version: number): Promise<RecordedEvent | undefined> {
    this.checkOpen();
    const id = checkStreamId(streamId, this.options.limits);
    if (!isNonNegativeInteger(version)) throw new InvalidArgumentError('version must be a non-negative integer');
    if (version === 0) return undefined;
    return this.reader.streamRange(id, version, version)[0];
  }

  /** The events the command appended, in append order; undefined for an unknown command. */
  async readCommand(commandId: string): Promise<RecordedEvent[] | undefined> {
    this.checkOpen();
    const id = checkCommandId(commandId);
    if (id === undefined) throw new InvalidArgumentError('commandId must be a non-empty string');
    return this.reader.readCommand(id);
  }

  /**
   * Every event in global order, strictly after position `after` (omitted: from the start). Bad
   * options reject on the first iteration step. A damaged record ends the iteration with a
   * CorruptionError (after the events before it), unless `onDamaged` is given: then it is skipped
   * and reported there.
   */
  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.checkOpen();
        checkObject('options', options);
        optionalCount('after', options.after);
        optionalCount('limit', options.limit);
        if (options.onDamaged !== undefined && typeof options.onDamaged !== 'function') {
          throw new InvalidArgumentError(`onDamaged must be a function, got ${typeof options.onDamaged}`);
        }
        const from = self.reader.startAfter(options.after);
        yield* self.reader.iterateLog(from, options.limit ?? Number.MAX_SAFE_INTEGER, () => !self.closed, options.onDamaged);
      },
    };
  }

  /**
   * Catches up from `after` (omitted: the beginning; `fromEnd`: only what is appended from now on),
   * then yields new events as they become durable,
   * in order, with no gap and no duplicate; one stream (`streamId`) or the whole log. Ends when
   * `close()` is called or the store closes.
   */
  subscribe(options: SubscribeOptions = {}): Subscription {
    this.checkOpen();
    checkObject('options', options);
    optionalCount('after', options.after);
    if (options.fromEnd !== undefined && typeof options.fromEnd !== 'boolean') throw new InvalidArgumentError('fromEnd must be a boolean');
    if (options.fromEnd && options.after !== undefined) throw new InvalidArgumentError('give either after or fromEnd');
    const ended = () => this.closed;
    if (options.streamId !== undefined) {
      const id = checkStreamId(options.streamId, this.options.limits);
      // `after` must be an event's position, as for the whole log (startAfter refuses others).
      if (options.after !== undefined) this.reader.startAfter(options.after);
      let next = options.fromEnd
        ? this.reader.visibleVersion(id) + 1
        : options.after === undefined
          ? 1
          : this.reader.firstVersionAfter(id, options.after);
      return subscription(
        this.signal,
        async () => {
          const batch = this.reader.streamBatch(id, next);
          next += batch.length;
          return batch;
        },
        ended,
      );
    }
    let cursor = options.fromEnd ? this.writer.visibleEnd : this.reader.startAfter(options.after);
    return subscription(
      this.signal,
      async () => {
        const { events, next } = this.reader.logBatch(cursor);
        cursor = next;
        return events;
      },
      ended,
    );
  }

  /**
   * Streams written most recently since the store was opened (newest first, at most 1,000 kept),
   * with their versions: what a browser of the store lists first.
   */
  async recentStreams(limit = 50): Promise<{ streamId: string; version: number }[]> {
    this.checkOpen();
    optionalCount('limit', limit);
    return this.index.recentlyWritten(limit).map((streamId) => ({ streamId, version: this.reader.visibleVersion(streamId) }));
  }

  // ---- snapshots ----

  /** Saves `state` as the stream's state at `version` (kept when newer than the saved one). */
  async saveSnapshot(streamId: string, version: number, state: unknown): Promise<void> {
    this.checkWritable();
    const id = checkStreamId(streamId, this.options.limits);
    if (!isNonNegativeInteger(version) || version < 1) throw new InvalidArgumentError('version must be a positive integer');
    const current = this.reader.visibleVersion(id);
    if (version > current) throw new InvalidArgumentError(`stream '${id}' is at version ${current}; cannot snapshot version ${version}`);
    const encoded = this.snapshots.encode(id, version, state);
    const existing = this.snapshots.load(id);
    if (existing && existing.version > version) return;
    this.snapshots.save(id, encoded);
  }

  /** The newest snapshot of the stream, if any. */
  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    this.checkOpen();
    return this.snapshots.load(checkStreamId(streamId, this.options.limits));
  }

  /**
   * Folds the stream's events into a state: from the newest snapshot when there is one, then the
   * events after it; saves a new snapshot when `snapshotEvery` events or more were folded.
   */
  async aggregate<S>(streamId: string, options: AggregateOptions<S>): Promise<{ state: S; version: number }> {
    this.checkOpen();
    const id = checkStreamId(streamId, this.options.limits);
    checkObject('options', options);
    if (typeof options.evolve !== 'function') throw new InvalidArgumentError('evolve must be a function');
    optionalCount('snapshotEvery', options.snapshotEvery);
    const visible = this.reader.visibleVersion(id);
    const snap = this.snapshots.load(id);
    const usable = snap && snap.version <= visible ? snap : undefined;
    let state = usable ? (usable.state as S) : options.initialState;
    let version = usable?.version ?? 0;
    const start = version;
    while (version < visible) {
      const batch = this.reader.streamRange(id, version + 1, Math.min(visible, version + 1000));
      if (batch.length === 0) break;
      for (const e of batch) state = options.evolve(state, e);
      version = (batch[batch.length - 1] as RecordedEvent).version;
    }
    const every = options.snapshotEvery;
    if (every && version - start >= every && !this.options.readOnly) await this.saveSnapshot(id, version, state);
    return { state, version };
  }

  // ---- lifecycle ----

  /** Makes every append so far durable, whatever the durability mode. */
  async flush(): Promise<void> {
    this.checkOpen();
    if (this.options.readOnly) return;
    await this.writer.flush();
  }

  async stats(): Promise<StoreStats> {
    this.checkOpen();
    let bytesOnDisk = 0;
    for (const sub of ['chunks', 'index']) {
      const d = path.join(this.directory, sub);
      if (!fs.existsSync(d)) continue;
      // A segment build or merge may rename or remove a file between the listing and its stat.
      for (const name of fs.readdirSync(d)) bytesOnDisk += (fs.statSync(path.join(d, name), { throwIfNoEntry: false })?.blocks ?? 0) * 512;
    }
    const counts = this.index.counts();
    return {
      engine: this.engine.name,
      eventCount: counts.events,
      streamCount: counts.streams,
      commandCount: counts.commands,
      chunkCount: this.engine.chunkCount(),
      bytesOnDisk,
      endPosition: this.writer.endPosition,
      durability: this.options.durability,
      flushes: this.writer.flushes,
      writes: this.writer.writes,
      recovery: {
        torn: this.recovery.torn,
        tornPosition: this.recovery.tornPosition,
        discardedBytes: this.recovery.discardedBytes,
        tornReason: this.recovery.tornReason,
        ...this.damaged.list(),
      },
      index: this.index.stats(),
    };
  }

  /** Flushes and closes; later calls reject with StoreClosedError; subscriptions end. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.signal.notify();
    try {
      await this.index.close();
      await this.writer.close();
      this.engine.close();
    } finally {
      this.lock?.release();
    }
  }
}
