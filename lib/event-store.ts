/**
 * EventStore: the public facade. Validates arguments, checks expected versions and command ids
 * against the index, encodes each append as one transaction, hands it to the LogWriter (placement,
 * engine, group commit) and updates the index. Checks and writes of an append happen synchronously
 * within the call, so appends are applied in call order and exactly one of two appends expecting
 * the same version wins. Reads go through StoreReader, read models through ReadModels; docs/api.md
 * describes the whole surface.
 */
import type { AggregateOptions } from './aggregates.js';
import type { AppendItem } from './append-planner.js';
import { checkObject, describeValue, rejectUnknownKeys } from './arg-checks.js';
import { type BackupOptions, type BackupResult, backupSourceOf, backupStore } from './backup.js';
import { type ConsumerInfo, type ConsumerSubscription, refuseSystemStreams } from './consumers.js';
import { DamagedRecords } from './damaged-records.js';
import type { HeldLock } from './dir-lock.js';
import type { LogEngine, OpenReport } from './engine/log-engine.js';
import {
  type AnnalsError,
  type AppendResult,
  type ExpectedVersion,
  InvalidArgumentError,
  ReadOnlyError,
  StoreClosedError,
} from './errors.js';
import { Follower } from './follower.js';
import { SEGMENT_KIND_CATEGORY, SEGMENT_KIND_TYPE } from './format/index-layout.js';
import type { StoreIndex } from './index/store-index.js';
import { LogWriter } from './log-writer.js';
import { closeParts, following, type OpenedParts, openIndex, openParts, warn } from './open-store.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import { RAW_LOG } from './raw-log.js';
import { checkScavengeOptions, type ScavengeOptions, type ScavengeReport } from './scavenge.js';
import type { Snapshot } from './snapshot-store.js';
import type { AnnalsStore } from './store-api.js';
import { StoreReader } from './store-reader.js';
import { type StoreServices, wireServices } from './store-services.js';
import { storeStats } from './store-stats.js';
import type { StoredMetadata, StreamMetadata } from './stream-metadata.js';
import { type Subscription, VisibilitySignal } from './subscription.js';
import type {
  AppendOptions,
  EngineName,
  EventData,
  ListStreamsOptions,
  ReadAllOptions,
  ReadStreamOptions,
  ReadViewOptions,
  RecordedEvent,
  StoreOptions,
  StoreStats,
  StreamInfo,
  SubscribeOptions,
} from './types.js';
import { checkCommandId, checkStreamId, optionalCount } from './validation.js';

export interface AppendManyItem extends AppendOptions {
  streamId: string;
  events: EventData[];
}

export type { AggregateOptions } from './aggregates.js';

/** The option names each method takes: any other is refused (arg-checks.ts). */
const KEYS = {
  append: new Set(['expectedVersion', 'commandId']),
  appendMany: new Set(['commandId', 'atomic']),
  backup: new Set(['onProgress']),
} satisfies Record<string, ReadonlySet<string>>;

export class EventStore implements AnnalsStore {
  private closed = false;
  private readonly writer: LogWriter;
  private readonly index: StoreIndex;
  private readonly reader: StoreReader;
  private readonly signal = new VisibilitySignal();
  /** What serves each call (store-services.ts). */
  private readonly s: StoreServices;
  private readonly damaged = new DamagedRecords((m) => warn(m, 'ANNALS_CORRUPTION'));

  private readonly options: ResolvedOptions;
  private readonly engine: LogEngine;
  private readonly lock: HeldLock | undefined;
  private readonly recovery: OpenReport;
  private readonly follower: Follower | undefined;

  private constructor(
    readonly directory: string,
    parts: OpenedParts,
  ) {
    const { options, engine, recovery, catalog, directory: streams } = parts;
    this.options = options;
    this.engine = engine;
    this.lock = parts.lock;
    this.recovery = recovery;
    for (const position of recovery.damaged) this.damaged.note(position, 'kept by recovery: valid records follow it');
    // The index first: its replay can fail, and nothing that needs stopping (the writer's interval
    // timer) exists yet when it does.
    this.index = openIndex(engine, catalog, streams, options, {
      flushLog: () => this.writer.flush(),
      onDamaged: (position, err) => this.damaged.note(position, err.message),
    });
    this.writer = new LogWriter(engine, options, recovery.identityChunk, () => this.signal.notify());
    this.reader = new StoreReader(engine, this.index, () => this.writer.visibleEnd);
    this.s = wireServices({
      ...{ directory, options, engine, index: this.index, writer: this.writer, reader: this.reader, signal: this.signal },
      checkOpen: () => this.checkOpen(),
      closed: () => this.closed,
    });
    // A read-only store follows the writer of its directory (follower.ts), unless told not to.
    this.follower = following(options)
      ? new Follower({
          ...{ directory, engine, options, backends: parts.backends, index: this.index, writer: this.writer },
          metadataWritten: (metaStreamId) => this.s.metadata.noteWritten(metaStreamId),
          damaged: (position, message) => this.damaged.note(position, message, 'this follower stops before it'),
          warn: (m) => warn(m, 'ANNALS_FOLLOW'),
        })
      : undefined;
  }

  /** Opens (creating unless readOnly) the store in `dir`. */
  static async open(dir: string, options?: StoreOptions): Promise<EventStore> {
    if (typeof dir !== 'string' || dir.length === 0)
      throw new InvalidArgumentError(`dir must be a non-empty string, got ${describeValue(dir)}`);
    const o = resolveOptions(options);
    const p = openParts(dir, o);
    try {
      const store = new EventStore(dir, p);
      await store.s.metadata.load().catch(async (err: unknown) => {
        await store.close();
        throw err;
      });
      return store;
    } catch (err) {
      closeParts(p);
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
    rejectUnknownKeys('append options', options, KEYS.append);
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
    if (!Array.isArray(items) || items.length === 0)
      throw new InvalidArgumentError(`items must be a non-empty array, got ${describeValue(items)}`);
    checkObject('options', options);
    rejectUnknownKeys('appendMany options', options, KEYS.appendMany);
    const commandId = checkCommandId(options.commandId);
    const atomic = options.atomic ?? true;
    if (typeof atomic !== 'boolean') throw new InvalidArgumentError(`atomic must be a boolean, got ${describeValue(atomic)}`);
    const results = await this.commit(items, commandId, atomic);
    if (atomic) {
      const failure = results.find((r) => r instanceof Error);
      if (failure) throw failure;
    }
    return results;
  }

  private commit(items: AppendItem[], commandId: string | undefined, atomic: boolean): Promise<(AppendResult | Error)[]> {
    refuseSystemStreams(items);
    return this.s.committer.commit(items, commandId, atomic);
  }

  // ---- reading ----

  /** The stream's current version: the number of its events (0 when it has none). */
  async streamVersion(streamId: string): Promise<number> {
    this.checkOpen();
    return this.reader.visibleVersion(checkStreamId(streamId, this.options.limits));
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.checkOpen();
    return this.s.streamReads.readStream(streamId, options);
  }

  async readEvent(streamId: string, version: number): Promise<RecordedEvent | undefined> {
    this.checkOpen();
    return this.s.streamReads.readEvent(streamId, version);
  }

  /** The events the command appended, in append order; undefined for an unknown command. */
  async readCommand(commandId: string): Promise<RecordedEvent[] | undefined> {
    this.checkOpen();
    return this.s.streamReads.readCommand(commandId);
  }

  // ---- stream lifecycle ----

  /**
   * Deletes a stream: soft (default), it reads as empty and a later append recreates it with its
   * versions going on; `hard`, a tombstone refusing every later append (STREAM_DELETED). The delete
   * is a durable record in the log; `expectedVersion` is checked against the stream in the same
   * step. Returns the record's position.
   */
  async deleteStream(streamId: string, options: { expectedVersion?: ExpectedVersion; hard?: boolean } = {}): Promise<{ position: number }> {
    this.checkWritable();
    return this.s.lifecycle.delete(streamId, options);
  }

  /** Sets a stream's retention rules (replacing the ones before; `{}` clears them). */
  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<{ position: number }> {
    this.checkWritable();
    return this.s.lifecycle.setMetadata(streamId, metadata);
  }

  /** A stream's retention rules, and whether it is hard-deleted. */
  async getStreamMetadata(streamId: string): Promise<StoredMetadata> {
    this.checkOpen();
    return this.s.lifecycle.getMetadata(streamId);
  }

  /**
   * Every event in global order, strictly after position `after` (omitted: from the start). Bad
   * options reject on the first iteration step. A damaged record ends the iteration with a
   * CorruptionError (after the events before it), unless `onDamaged` is given: then it is skipped
   * and reported there.
   */
  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    return this.s.models.readAll(options);
  }

  /** For `annals copy` (raw-log.ts): the log with hidden events. */
  [RAW_LOG](): AsyncIterable<RecordedEvent> {
    return this.s.models.rawLog();
  }

  /**
   * Catches up from `after` (omitted: the beginning; `fromEnd`: only what is appended from now on),
   * then yields new events as they become durable, in order, with no gap and no duplicate; one
   * stream (`streamId`) or the whole log (through `filter`). With `consumer`, a durable consumer:
   * it resumes after its saved checkpoint (consumers.ts). Ends when `close()` is called or the
   * store closes.
   */
  subscribe(options: SubscribeOptions & { consumer: string }): ConsumerSubscription;
  subscribe(options?: SubscribeOptions): Subscription;
  subscribe(options: SubscribeOptions = {}): Subscription | ConsumerSubscription {
    this.checkOpen();
    checkObject('options', options);
    if (options.consumer !== undefined) {
      this.checkWritable();
      return this.s.consumers.subscribeChecked({ ...options, consumer: options.consumer });
    }
    return this.s.models.subscribe(options);
  }

  /** Moves a durable consumer's checkpoint: it resumes after `position` (0: from the start). */
  async resetConsumer(consumer: string, position: number): Promise<void> {
    this.checkWritable();
    await this.s.consumers.resetChecked(consumer, position);
  }

  /** Every durable consumer of the store, with its position and its lag behind the end. */
  async listConsumers(): Promise<ConsumerInfo[]> {
    this.checkOpen();
    return this.s.consumers.list();
  }

  /** Every stream the store holds, in byte order of the id (UTF-8), a page at a time: `next` is
   * the `after` of the next page (absent on the last). Served from the index: a page costs the same
   * however many streams the store holds. */
  listStreams(options: ListStreamsOptions = {}): Promise<{ streams: StreamInfo[]; next?: string }> {
    return this.s.models.listStreams(options);
  }

  /** A category's events (streams whose id starts with `<category>-`), in global order. */
  readCategory(category: string, options: ReadViewOptions = {}): AsyncIterable<RecordedEvent> {
    return this.s.models.readView(SEGMENT_KIND_CATEGORY, category, options);
  }

  /** The events of one type, in global order. */
  readByType(type: string, options: ReadViewOptions = {}): AsyncIterable<RecordedEvent> {
    return this.s.models.readView(SEGMENT_KIND_TYPE, type, options);
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
    this.s.aggregates.save(streamId, version, state);
  }

  /** The newest snapshot of the stream, if any. */
  async loadSnapshot(streamId: string): Promise<Snapshot | undefined> {
    this.checkOpen();
    return this.s.aggregates.load(streamId);
  }

  /**
   * Folds the stream's events into a state: from the newest snapshot when there is one, then the
   * events after it; saves a new snapshot when `snapshotEvery` events or more were folded.
   */
  async aggregate<S>(streamId: string, options: AggregateOptions<S>): Promise<{ state: S; version: number }> {
    this.checkOpen();
    return this.s.aggregates.aggregate(streamId, options);
  }

  // ---- backups ----

  /**
   * Copies the store to `targetDir` (absent, or an empty directory) while it stays in use: the
   * copy holds every event acknowledged before the call and opens as a store (backup.ts).
   */
  async backup(targetDir: string, options: BackupOptions = {}): Promise<BackupResult> {
    this.checkOpen();
    checkObject('options', options);
    rejectUnknownKeys('backup options', options, KEYS.backup);
    const { directory, options: o, reader, writer } = this;
    const source = { directory, chunkSize: o.chunkSize, readOnly: o.readOnly, reader, writer };
    return backupStore(backupSourceOf(source), targetDir, options);
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
    const { directory, engine, index, writer, options, recovery, damaged } = this;
    return {
      ...storeStats({ directory, engine, index, writer, options, recovery, damaged, metadata: this.s.metadata }),
      reclaimableBytes: await this.s.scavenger.reclaimableBytes(),
    };
  }

  /** Rewrites sealed chunks without the events reads no longer return (lib/scavenge.ts); positions
   * never change. A call while one runs joins it. */
  async scavenge(options: ScavengeOptions = {}): Promise<ScavengeReport> {
    this.checkWritable();
    return this.s.scavenger.scavenge(checkScavengeOptions(options));
  }

  /** Flushes and closes; later calls reject with StoreClosedError; subscriptions end. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.follower?.stop();
    this.signal.notify();
    try {
      await this.s.scavenger.stop();
      if (!this.options.readOnly)
        await this.s.consumers.close().catch((err: Error) => warn(`consumer checkpoints not saved: ${err.message}`, 'ANNALS_CONSUMER'));
      await this.index.close();
      await this.writer.close();
      this.engine.close();
    } finally {
      this.lock?.release();
    }
  }
}
