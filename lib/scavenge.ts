/**
 * Scavenge: reclaims the bytes of events no read may return any more (deleted, hard-deleted,
 * truncated, past maxCount or maxAgeMs: stream-metadata.ts) by rewriting sealed chunks without them
 * (scavenge-chunk.ts), in the background while appends and reads go on. Global positions never
 * change (scavenged chunks keep a position map: lib/format/scavenged-chunk.ts).
 *
 * Order of work: the memtable is built into index files before the first swap (while the first
 * chunk's pass runs), so every chunk rewritten is covered by them (no directory file built later
 * from memory can carry an erased stream's id); each sealed chunk (never the tail) in turn; then
 * the stream directory files over the rewritten chunks are rebuilt from the log. Index segments keep their entries of removed events (hashes only, no
 * id bytes): reads drop them (scavenged-log.ts withoutRemoved), and a command whose events were
 * removed still refuses its retry as a duplicate (StoreReader.erasedCommand).
 *
 * One scavenge runs at a time; a call while one runs joins it. The rules are taken at its start
 * (maxAgeMs against the time it started).
 */
import { checkObject, describeValue, rejectUnknownKeys } from './arg-checks.js';
import type { LogEngine } from './engine/log-engine.js';
import { ScavengeAwareLog } from './engine/scavenged-log.js';
import { CorruptionError, InvalidArgumentError } from './errors.js';
import { keyNumberAt } from './format/key-hash.js';
import { CHUNK_HEADER_SIZE } from './format/layout.js';
import { decodeRetentionFields, retentionFieldsAt } from './format/record-decode.js';
import type { KnownSurvivors } from './index/directory-patch.js';
import { scanBlocks } from './log-reader.js';
import { nativeAddon } from './native.js';
import { type ChunkScavenge, type RewriteDeps, type ScavengeStep, scavengeChunk } from './scavenge-chunk.js';
import type { NativeScavengePass } from './scavenge-native.js';
import type { PassResult } from './scavenge-pass.js';
import { clearPending, readPending, writePending } from './scavenge-pending.js';
import { MAX_CACHED_RULE_CHARS, MAX_CACHED_RULES, type RuleCacheBounds } from './scavenge-rule-cache.js';
import { PassRunner } from './scavenge-runner.js';
import { Survivors } from './scavenge-survivors.js';
import type { Retention, StreamMetadataRegistry } from './stream-metadata.js';

export interface ScavengeProgress {
  /** Sealed chunks examined so far, of `chunks`. */
  chunksExamined: number;
  chunks: number;
  chunksRewritten: number;
  eventsRemoved: number;
  bytesReclaimed: number;
}

export interface ScavengeReport {
  chunksExamined: number;
  chunksRewritten: number;
  /** Chunks left as they were because a damaged record was met in them. */
  chunksSkipped: number;
  eventsRemoved: number;
  /** Bytes of records (and position maps) in the examined chunks, before and after. */
  bytesBefore: number;
  bytesAfter: number;
  bytesReclaimed: number;
  durationMs: number;
  /** The signal stopped it: the chunks done so far stay done. */
  aborted: boolean;
}

export interface ScavengeOptions {
  /** Called after each chunk examined. */
  onProgress?: (progress: ScavengeProgress) => void;
  /** Stops the scavenge between two batches; the report says `aborted`. */
  signal?: AbortSignal;
  /** Caps the bytes of chunks the scavenge reads per second (it writes at most as many); none by
   * default. */
  maxBytesPerSecond?: number;
}

export interface ScavengerDeps {
  log: ScavengeAwareLog;
  /** Whether an event stays, by the rules at `now`. */
  visible(streamId: string, version: number, timestamp: number, now: number): boolean;
  /** A stream's rules at `now` (undefined: none), looked up once per stream by a scavenge. */
  retention(streamId: string, now: number): Retention | undefined;
  /** Makes the floors durable: each stream's versions go on above it once its events are erased. */
  raiseFloors(floors: ReadonlyMap<string, number>): Promise<void>;
  /** The keys (keyNumberAt) of the streams with rules. */
  ruleKeys(): Promise<Iterable<number>>;
  /** Whether any stream has rules (none: nothing can be reclaimed). */
  hasRules(): boolean;
  /** Changes of the rules since open (the reclaimable estimate is cached against it). */
  ruleChanges(): number;
  buildIndexNow(): Promise<void>;
  rebuildDirectories(ranges: [number, number][], known?: KnownSurvivors): Promise<void>;
  writable: boolean;
  /** The native engine's chunk pass (scavenge-native.ts); undefined: the TypeScript pass. */
  nativePass?: NativeScavengePass;
}

/** Test seam of the crash tests: called at each step of each chunk's swap. */
export const scavengeSteps: { hook?: (step: ScavengeStep | 'pending' | 'directories', chunk: number) => void } = {};

const OPTION_KEYS = new Set(['onProgress', 'signal', 'maxBytesPerSecond']);
/** How long a reclaimable estimate is reused while the rules do not change (maxAgeMs moves it). */
const ESTIMATE_TTL_MS = 60_000;
/** Test seam: the streams (and characters of their ids) whose rules a scavenge's side keeps at
 * once (cleared when full) and whose survivors it remembers (scavenge-survivors.ts). */
export const scavengeRuleCache: RuleCacheBounds = { entries: MAX_CACHED_RULES, chars: MAX_CACHED_RULE_CHARS };

export function checkScavengeOptions(options: unknown): ScavengeOptions {
  checkObject('options', options);
  rejectUnknownKeys('scavenge options', options, OPTION_KEYS);
  const o = options as Record<string, unknown>;
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
    throw new InvalidArgumentError(`onProgress must be a function, got ${describeValue(o.onProgress)}`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw new InvalidArgumentError(`signal must be an AbortSignal, got ${describeValue(o.signal)}`);
  const rate = o.maxBytesPerSecond;
  if (rate !== undefined && !(typeof rate === 'number' && Number.isFinite(rate) && rate > 0))
    throw new InvalidArgumentError(`maxBytesPerSecond must be a positive finite number, got ${describeValue(rate)}`);
  return o as ScavengeOptions;
}

export class Scavenger {
  private running: Promise<ScavengeReport> | undefined;
  private stopping = false;
  /** The passes of the scavenge under way (stop() stops them). */
  private runner: PassRunner | undefined;
  /** Settles once the scavenge under way built the memtable into index files. */
  private indexBuilt: Promise<void> = Promise.resolve();
  private estimate: { bytes: number; at: number; changes: number; chunks: number } | undefined;

  /** The directory rebuild a scavenge that crashed after a swap still owed (scavenge-pending.ts). */
  private resumed: Promise<void> = Promise.resolve();

  constructor(private readonly d: ScavengerDeps) {
    const owed = d.writable ? readPending(d.log.dir) : [];
    if (owed.length > 0) {
      this.resumed = d
        .rebuildDirectories(owed)
        .then(() => clearPending(d.log.dir))
        .catch(() => {});
    }
  }

  scavenge(options: ScavengeOptions): Promise<ScavengeReport> {
    this.running ??= this.run(options).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops a running scavenge at its next batch and waits for it (close). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.runner?.stop();
    try {
      await this.running;
    } catch {}
    await this.resumed;
  }

  private async run(options: ScavengeOptions): Promise<ScavengeReport> {
    const started = performance.now();
    const report: ScavengeReport = {
      chunksExamined: 0,
      chunksRewritten: 0,
      chunksSkipped: 0,
      eventsRemoved: 0,
      bytesBefore: 0,
      bytesAfter: 0,
      bytesReclaimed: 0,
      durationMs: 0,
      aborted: false,
    };
    const stopped = () => this.stopping || options.signal?.aborted === true;
    await this.resumed;
    if (this.d.hasRules()) {
      // The worker starts while the memtable is built (its start is most of a small scavenge's).
      const runner = new PassRunner(await this.d.ruleKeys(), {
        steps: scavengeSteps.hook !== undefined,
        maxBytesPerSecond: options.maxBytesPerSecond ?? 0,
        ...(this.d.nativePass ? { native: this.d.nativePass } : {}),
      });
      const stop = () => runner.stop();
      this.runner = runner;
      options.signal?.addEventListener('abort', stop);
      let done: { rewritten: [number, number][]; seen: Survivors; examinedEnd: number };
      try {
        const now = Date.now();
        // The memtable is built while the first chunk's pass runs; no swap comes before it is.
        this.indexBuilt = this.d.buildIndexNow();
        // Its failure is awaited below; until then it must not count as unhandled.
        this.indexBuilt.catch(() => {});
        done = await this.passChunks(runner, now, stopped, options, report);
        await this.indexBuilt;
      } finally {
        await this.indexBuilt.catch(() => {});
        options.signal?.removeEventListener('abort', stop);
        this.runner = undefined;
        await runner.close();
      }
      const { rewritten, seen, examinedEnd } = done;
      if (rewritten.length > 0) {
        const known = seen.complete ? { from: CHUNK_HEADER_SIZE, to: examinedEnd, of: (id: string) => seen.of(id) } : undefined;
        await this.d.rebuildDirectories(rewritten, known);
        scavengeSteps.hook?.('directories', -1);
        clearPending(this.d.log.dir);
        this.estimate = undefined;
      }
    }
    report.aborted = stopped();
    report.durationMs = performance.now() - started;
    return report;
  }

  /** Each sealed chunk in turn: its pass, then its swap. */
  private async passChunks(runner: PassRunner, now: number, stopped: () => boolean, options: ScavengeOptions, report: ScavengeReport) {
    const sealed = this.d.log.chunkCount() - 1;
    const rewritten: [number, number][] = [];
    const seen = new Survivors(scavengeRuleCache);
    const size = this.d.log.chunkSize;
    let examinedEnd = CHUNK_HEADER_SIZE;
    const released: Promise<void>[] = [];
    for (let n = 0; n < sealed && !stopped(); n++) {
      const r = await scavengeChunk(this.rewriteDeps(runner, now, stopped, rewritten, seen, n), n);
      if (!r) break;
      released.push(r.released);
      if (r.damaged) seen.complete = false;
      seen.addAll(r.pass);
      examinedEnd = (n + 1) * size;
      this.tally(report, r);
      if (r.rewritten) rewritten.push([n * size, (n + 1) * size]);
      options.onProgress?.({
        chunksExamined: report.chunksExamined,
        chunks: sealed,
        chunksRewritten: report.chunksRewritten,
        eventsRemoved: report.eventsRemoved,
        bytesReclaimed: report.bytesReclaimed,
      });
    }
    // Every replaced file is closed (its space freed) before the scavenge reports.
    await Promise.all(released);
    return { rewritten, seen, examinedEnd };
  }

  private rewriteDeps(
    runner: PassRunner,
    now: number,
    stopped: () => boolean,
    rewritten: [number, number][],
    seen: Survivors,
    n: number,
  ): RewriteDeps {
    const rules = seen.rules;
    // The streams under rules whose last event lies in this chunk above the floor their metadata
    // keeps (from the rules met in earlier chunks, and those asked during this one): if the pass
    // removes that event, the floor must be raised before the swap. Bounded by the rules kept.
    const lo = n * this.d.log.chunkSize;
    const hi = lo + this.d.log.chunkSize;
    const lastHere = (r: Retention | null) => r !== null && r.floor < r.last && r.lastPosition >= lo && r.lastPosition < hi;
    const lastsHere = new Map<string, Retention>();
    for (const [id, r] of rules) if (lastHere(r)) lastsHere.set(id, r as Retention);
    return {
      log: this.d.log,
      runner,
      rulesEpoch: seen.rulesEpoch,
      ask: (ids) =>
        ids.map((streamId) => {
          let r = rules.get(streamId);
          if (r === undefined) {
            if (rules.makeRoom([streamId])) {
              seen.rulesEpoch++; // the passes forget theirs too, and ask again
              seen.complete = false; // the decisions the directory patch needs are gone
            }
            r = this.d.retention(streamId, now) ?? null;
            rules.set(streamId, r);
          }
          if (lastHere(r)) lastsHere.set(streamId, r as Retention);
          return r;
        }),
      secureVersions: async (pass: PassResult) => {
        await this.indexBuilt;
        if (lastsHere.size === 0) return;
        // A stream's last event was in this chunk and is not among its survivors: it goes.
        const kept = new Set(pass.survivorPositions);
        const floors = new Map<string, number>();
        for (const [id, r] of lastsHere) if (!kept.has(r.lastPosition)) floors.set(id, r.last);
        if (floors.size > 0) await this.d.raiseFloors(floors);
      },
      stopped,
      step: (step: ScavengeStep, chunk: number) => scavengeSteps.hook?.(step, chunk),
      beforeSwap: (n: number) => {
        const size = this.d.log.chunkSize;
        writePending(this.d.log.dir, [...rewritten, [n * size, (n + 1) * size]]);
        scavengeSteps.hook?.('pending', n);
      },
    };
  }

  private tally(report: ScavengeReport, r: ChunkScavenge): void {
    report.chunksExamined++;
    if (r.rewritten) report.chunksRewritten++;
    if (r.damaged) report.chunksSkipped++;
    if (r.rewritten) report.eventsRemoved += r.removed;
    report.bytesBefore += r.before;
    report.bytesAfter += r.after;
    report.bytesReclaimed = report.bytesBefore - report.bytesAfter;
  }

  /**
   * An estimate of the bytes a scavenge would reclaim now: the frames of sealed chunks that reads
   * no longer return, from a pass over their record headers (no payload decoded), reused while the
   * rules and the chunks are unchanged, for at most a minute (maxAgeMs moves with time).
   */
  async reclaimableBytes(): Promise<number> {
    if (!this.d.hasRules()) return 0;
    const sealed = this.d.log.chunkCount() - 1;
    const e = this.estimate;
    const nowMs = Date.now();
    if (e && e.changes === this.d.ruleChanges() && e.chunks === sealed && nowMs - e.at < ESTIMATE_TTL_MS) return e.bytes;
    let bytes = 0;
    const size = this.d.log.chunkSize;
    // As the pass judges frames (scavenge-pass.ts): by the key of the stream id's bytes first, so
    // only a stream under rules becomes a string.
    const keys = new Set(await this.d.ruleKeys());
    const fields = new Float64Array(3);
    for (let n = 0; n < sealed; n++) {
      for (const block of scanBlocks(
        this.d.log,
        n * size + CHUNK_HEADER_SIZE,
        () => (n + 1) * size,
        () => {},
      )) {
        const { bytes: b, positions } = block;
        for (let off = 0, i = 0; off < b.length; off += b.readUInt32LE(off), i++) {
          try {
            const position = positions[i] as number;
            const idStart = retentionFieldsAt(b, off, position, fields);
            if (!keys.has(keyNumberAt(b, idStart, fields[0] as number))) continue;
            const f = decodeRetentionFields(b, off, position);
            if (!this.d.visible(f.streamId, f.version, f.timestamp, nowMs)) bytes += b.readUInt32LE(off);
          } catch (err) {
            // A record whose body does not decode is counted as kept (a scavenge keeps it).
            if (!(err instanceof CorruptionError)) throw err;
          }
        }
        await new Promise((r) => setImmediate(r));
      }
    }
    this.estimate = { bytes, at: nowMs, changes: this.d.ruleChanges(), chunks: sealed };
    return bytes;
  }
}

/** The store's scavenger over its log, index and stream rules. */
export function storeScavenger(
  engine: LogEngine,
  index: { buildMemtableNow(): Promise<void>; rebuildDirectoriesOver(ranges: [number, number][], known?: KnownSurvivors): Promise<void> },
  rules: StreamMetadataRegistry,
  writable: boolean,
  raiseFloors: (floors: ReadonlyMap<string, number>) => Promise<void>,
): Scavenger {
  if (!(engine instanceof ScavengeAwareLog)) throw new InvalidArgumentError('scavenge needs the log opened by the store');
  return new Scavenger({
    log: engine,
    visible: (s, v, t, now) => rules.visibleFields(s, v, t, now),
    retention: (s, now) => rules.retention(s, now),
    raiseFloors,
    ruleKeys: () => rules.keyNumbers(),
    hasRules: () => !rules.empty,
    ruleChanges: () => rules.changes,
    buildIndexNow: () => index.buildMemtableNow(),
    rebuildDirectories: (ranges, known) => index.rebuildDirectoriesOver(ranges, known),
    writable,
    ...(engine.name === 'native' && nativeAddon()?.scavengePass ? { nativePass: nativeAddon()?.scavengePass } : {}),
  });
}
