/**
 * EventStore: the public facade. Validates arguments, checks expected versions and command ids
 * against the in-memory indexes, encodes each append as one transaction, hands it to the LogWriter
 * (placement, engine, group commit) and updates the indexes. Checks and writes of an append happen
 * synchronously within the call, so appends are applied in call order and exactly one of two
 * appends expecting the same version wins.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type AppendItem, type PlannedAppend, planAppends } from './append-planner.js';
import { acquireDirLock, type HeldLock } from './dir-lock.js';
import { JsChunkLog } from './engine/js-chunk-log.js';
import type { LogEngine, OpenReport } from './engine/log-engine.js';
import { NativeChunkLog } from './engine/native-chunk-log.js';
import {
  type AnnalsError,
  type AppendResult,
  EngineUnavailableError,
  InvalidArgumentError,
  ReadOnlyError,
  StoreClosedError,
  toAnnalsError,
} from './errors.js';
import { CHUNK_HEADER_SIZE } from './format/layout.js';
import { decodeFrame } from './format/record-codec.js';
import { JsSegmentBackend } from './index/js-segments.js';
import { NativeSegmentBackend } from './index/native-segments.js';
import type { SegmentBackend } from './index/segment-backend.js';
import { SegmentCatalog } from './index/segment-catalog.js';
import { type IndexedAppend, StoreIndex } from './index/store-index.js';
import { framesOf, readAt, scanBlocks, toRecordedEvent } from './log-reader.js';
import { LogWriter } from './log-writer.js';
import { nativeAddon, nativeLoadError } from './native.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
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

let fallbackWarned = false;

function chooseEngine(name: EngineName | undefined, dir: string, o: ResolvedOptions): LogEngine {
  const addon = nativeAddon();
  if (name === 'js') return new JsChunkLog(dir, o.chunkSize, o.readOnly);
  if (addon) return new NativeChunkLog(addon, dir, o.chunkSize, o.readOnly);
  const reason = nativeLoadError()?.message ?? 'unknown reason';
  if (name === 'native') throw new EngineUnavailableError(`the native engine cannot load: ${reason}`);
  if (!fallbackWarned) {
    fallbackWarned = true;
    process.emitWarning(`annals: native addon unavailable (${reason}); using the JS engine`, { code: 'ANNALS_JS_FALLBACK' });
  }
  return new JsChunkLog(dir, o.chunkSize, o.readOnly);
}

export interface AppendManyItem extends AppendOptions {
  streamId: string;
  events: EventData[];
}

export class EventStore {
  private closed = false;
  private readonly writer: LogWriter;
  private readonly index: StoreIndex;

  private constructor(
    readonly directory: string,
    private readonly options: ResolvedOptions,
    private readonly engine: LogEngine,
    private readonly lock: HeldLock | undefined,
    private readonly recovery: OpenReport,
    catalog: SegmentCatalog,
  ) {
    this.writer = new LogWriter(engine, options.chunkSize, options.durability, options.flushIntervalMs, () => {});
    this.index = new StoreIndex({
      engine,
      catalog,
      writable: !options.readOnly,
      memtableEntries: options.indexMemtableEntries,
      maxSegments: options.maxIndexSegments,
      retentionMs: options.retentionMs,
      logEnd: () => engine.endPosition(),
      flushLog: () => this.writer.flush(),
      warn: (message) => process.emitWarning(`annals: ${message}`, { code: 'ANNALS_INDEX' }),
    });
  }

  /** Opens (creating unless readOnly) the store in `dir`. */
  static async open(dir: string, options?: StoreOptions): Promise<EventStore> {
    if (typeof dir !== 'string' || dir.length === 0) throw new InvalidArgumentError('dir must be a non-empty string');
    const o = resolveOptions(options);
    const chunksDir = path.join(dir, 'chunks');
    if (o.readOnly) {
      if (!fs.existsSync(chunksDir)) throw new InvalidArgumentError(`no store at ${dir}`);
    } else {
      fs.mkdirSync(chunksDir, { recursive: true });
    }
    const engine = chooseEngine(o.engine, chunksDir, o);
    const lock = o.readOnly ? undefined : acquireDirLock(dir);
    try {
      const report = engine.open();
      if (report.torn) {
        process.emitWarning(
          `annals: torn tail cut at position ${report.tornPosition} (${report.tornReason}, ${report.discardedBytes} bytes of an unacknowledged append dropped)`,
          { code: 'ANNALS_TORN_TAIL' },
        );
      }
      const indexDir = path.join(dir, 'index');
      if (!o.readOnly) fs.mkdirSync(indexDir, { recursive: true });
      const addon = nativeAddon();
      const backend: SegmentBackend = engine.name === 'native' && addon ? new NativeSegmentBackend(addon) : new JsSegmentBackend();
      const catalog = SegmentCatalog.load(indexDir, backend, engine.endPosition(), !o.readOnly, (message) =>
        process.emitWarning(`annals: ${message}`, { code: 'ANNALS_INDEX' }),
      );
      return new EventStore(dir, o, engine, lock, report, catalog);
    } catch (err) {
      try {
        engine.close();
      } catch {}
      lock?.release();
      throw toAnnalsError(err);
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

  /** Appends events to one stream, atomically. */
  async append(streamId: string, events: EventData[], options: AppendOptions = {}): Promise<AppendResult> {
    this.checkWritable();
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
    const [result] = await this.commit([{ streamId, events, ...options }], undefined, true);
    const r = result as AppendResult | Error;
    if (r instanceof Error) throw r;
    return r;
  }

  /**
   * Appends to several streams in one call. `atomic` (default): one transaction, all or nothing,
   * rejecting with the first failure. Otherwise each item succeeds or fails on its own.
   */
  async appendMany(
    items: AppendManyItem[],
    options: { commandId?: string; atomic?: boolean } = {},
  ): Promise<AppendResult[] | (AppendResult | Error)[]> {
    this.checkWritable();
    if (!Array.isArray(items) || items.length === 0) throw new InvalidArgumentError('items must be a non-empty array');
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
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

  private async commit(items: AppendItem[], commandId: string | undefined, atomic: boolean): Promise<(AppendResult | Error)[]> {
    const plan = planAppends(items, commandId, atomic, {
      limits: this.options.limits,
      chunkSize: this.options.chunkSize,
      version: (s) => this.index.latest(s).version,
      lastPosition: (s) => this.index.latest(s).position,
      command: (c) => this.commandOriginal(c),
    });
    const outcomes = this.writer.write(plan.transactions.map((t) => t.encoded));
    plan.transactions.forEach((t, i) => {
      const outcome = outcomes[i];
      if (!outcome || 'error' in outcome) {
        for (const k of t.itemIndexes) plan.results[k] = outcome?.error ?? new Error('not written');
        return;
      }
      this.applyToIndexes(t.appends, outcome.start, t.encoded.frameOffsets, plan.results, t.itemIndexes);
    });
    if (plan.transactions.length > 0) await this.writer.committed();
    return plan.results;
  }

  private applyToIndexes(
    appends: PlannedAppend[],
    start: number,
    frameOffsets: number[],
    results: (AppendResult | Error)[],
    itemIndexes: number[],
  ): void {
    let f = 0;
    const indexed: IndexedAppend[] = [];
    appends.forEach((a, k) => {
      const positions: number[] = [];
      for (let i = 0; i < a.count; i++) positions.push(start + (frameOffsets[f++] as number));
      const result: AppendResult = {
        streamId: a.streamId,
        firstVersion: a.firstVersion,
        lastVersion: a.firstVersion + a.count - 1,
        position: positions[positions.length - 1] as number,
      };
      const entry: IndexedAppend = { streamId: a.streamId, firstVersion: a.firstVersion, positions };
      if (a.commandId !== undefined) {
        result.commandId = a.commandId;
        entry.commandId = a.commandId;
      }
      indexed.push(entry);
      results[itemIndexes[k] as number] = result;
    });
    this.index.add(indexed, this.writer.endPosition);
  }

  /** The first result of a stored command, for DuplicateCommandError; searches the segments only
   * with commandLookup 'disk'. */
  private commandOriginal(commandId: string): AppendResult | undefined {
    const recent = this.index.recentResults(commandId);
    if (recent) return recent[0];
    const positions = this.index.commandPositions(commandId, this.options.commandLookup === 'disk');
    if (!positions) return undefined;
    const fields = this.index.fieldsAt(positions);
    const mine = positions.map((p, i) => ({ p, f: fields[i] })).filter((x) => x.f?.commandId === commandId);
    const first = mine[0];
    if (!first?.f) return undefined;
    // The first append of the command: its consecutive events in the first stream it wrote.
    let last = first;
    for (const x of mine.slice(1)) {
      if (x.f?.streamId !== first.f.streamId || x.f.version !== (last.f?.version ?? 0) + 1) break;
      last = x;
    }
    return {
      streamId: first.f.streamId,
      firstVersion: first.f.version,
      lastVersion: last.f?.version ?? first.f.version,
      position: last.p,
      commandId,
    };
  }

  /** Latest version among the events readers may see (in 'sync' mode: those a flush covers). */
  private visibleVersion(streamId: string): number {
    const visibleEnd = this.writer.visibleEnd;
    const latest = this.index.latest(streamId);
    if (latest.position < visibleEnd) return latest.version;
    // Appends in flight: their entries are in the memtable; step back over them.
    let version = latest.version;
    while (version > 0) {
      const window = this.index.streamPositions(streamId, Math.max(1, version - 1023), version);
      let k = window.length;
      while (k > 0 && (window[k - 1] as number) >= visibleEnd) k--;
      if (k > 0) return version - (window.length - k);
      version -= window.length;
      if (window.length === 0) break;
    }
    return 0;
  }

  /** Events of `streamId` at `positions` that readers may see, checked against the records. */
  private readStreamAt(streamId: string, positions: number[]): RecordedEvent[] {
    const visibleEnd = this.writer.visibleEnd;
    return readAt(
      this.engine,
      positions.filter((p) => p < visibleEnd),
    ).filter((e) => e.streamId === streamId);
  }

  /** The stream's current version: the number of its events (0 when it has none). */
  async streamVersion(streamId: string): Promise<number> {
    this.checkOpen();
    return this.visibleVersion(checkStreamId(streamId, this.options.limits));
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.checkOpen();
    const id = checkStreamId(streamId, this.options.limits);
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
    const { fromVersion, direction = 'forward', limit } = options;
    if (fromVersion !== undefined && !isNonNegativeInteger(fromVersion)) {
      throw new InvalidArgumentError('fromVersion must be a non-negative integer');
    }
    if (limit !== undefined && !isNonNegativeInteger(limit)) throw new InvalidArgumentError('limit must be a non-negative integer');
    if (direction !== 'forward' && direction !== 'backward') {
      throw new InvalidArgumentError("direction must be 'forward' or 'backward'");
    }
    const visible = this.visibleVersion(id);
    const max = limit ?? Number.MAX_SAFE_INTEGER;
    if (direction === 'forward') {
      const from = Math.max(1, fromVersion ?? 1);
      return this.readStreamAt(id, this.index.streamPositions(id, from, Math.min(visible, from + max - 1)));
    }
    const from = Math.min(visible, fromVersion ?? visible);
    return this.readStreamAt(id, this.index.streamPositions(id, Math.max(1, from - max + 1), from)).reverse();
  }

  async readEvent(streamId: string, version: number): Promise<RecordedEvent | undefined> {
    this.checkOpen();
    const id = checkStreamId(streamId, this.options.limits);
    if (!isNonNegativeInteger(version)) throw new InvalidArgumentError('version must be a non-negative integer');
    if (version === 0 || version > this.visibleVersion(id)) return undefined;
    return this.readStreamAt(id, this.index.streamPositions(id, version, version))[0];
  }

  /** The events the command appended, in append order; undefined for an unknown command. */
  async readCommand(commandId: string): Promise<RecordedEvent[] | undefined> {
    this.checkOpen();
    const id = checkCommandId(commandId);
    if (id === undefined) throw new InvalidArgumentError('commandId must be a non-empty string');
    const visibleEnd = this.writer.visibleEnd;
    const positions = this.index.commandPositions(id, true)?.filter((p) => p < visibleEnd) ?? [];
    const events = readAt(this.engine, positions).filter((e) => e.commandId === id);
    return events.length === 0 ? undefined : events;
  }

  /**
   * Every event in global order, strictly after position `after` (omitted: from the start). Bad
   * options reject on the first iteration step.
   */
  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    return {
      [Symbol.asyncIterator]: () => this.iterateAll(options),
    };
  }

  private async *iterateAll(options: ReadAllOptions): AsyncGenerator<RecordedEvent> {
    this.checkOpen();
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
    const { after, limit } = options;
    if (after !== undefined && !isNonNegativeInteger(after)) throw new InvalidArgumentError('after must be a non-negative integer');
    if (limit !== undefined && !isNonNegativeInteger(limit)) throw new InvalidArgumentError('limit must be a non-negative integer');
    const max = limit ?? Number.MAX_SAFE_INTEGER;
    let from = CHUNK_HEADER_SIZE;
    if (after !== undefined && after >= CHUNK_HEADER_SIZE) {
      from = after + this.frameLengthAt(after);
    }
    let n = 0;
    if (n >= max) return;
    for (const { bytes, positions } of scanBlocks(this.engine, from, () => (this.closed ? 0 : this.writer.visibleEnd))) {
      let i = 0;
      for (const [off] of framesOf(bytes)) {
        yield toRecordedEvent(decodeFrame(bytes, off, positions[i++] as number));
        if (++n >= max) return;
      }
    }
  }

  /** Length of the frame at a caller-given position, which must be an event's position. */
  private frameLengthAt(position: number): number {
    if (position >= this.writer.visibleEnd) throw new InvalidArgumentError(`no event at position ${position}`);
    try {
      return this.engine.readFrames(Float64Array.of(position)).readUInt32LE(0);
    } catch (err) {
      throw new InvalidArgumentError(`no event at position ${position} (${(err as Error).message})`);
    }
  }

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
      for (const name of fs.readdirSync(d)) bytesOnDisk += fs.statSync(path.join(d, name)).blocks * 512;
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
      recovery: {
        torn: this.recovery.torn,
        tornPosition: this.recovery.tornPosition,
        discardedBytes: this.recovery.discardedBytes,
        tornReason: this.recovery.tornReason,
      },
      index: this.index.stats(),
    };
  }

  /** Flushes and closes; later calls reject with StoreClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.index.close();
      await this.writer.close();
      this.engine.close();
    } finally {
      this.lock?.release();
    }
  }
}
