/**
 * The index's background work, one job at a time: building frozen memtables into segments (after a
 * flush of the log, so no entry ever points at a record that is not durable), merging segments so
 * each kind keeps at most `maxSegments`, and rebuilding a broken segment from the log. A failed job
 * is reported and the work stays queued for the next attempt (a frozen memtable keeps serving).
 */
import type { LogEngine } from '../engine/log-engine.js';
import { SEGMENT_KIND_COMMAND, SEGMENT_KIND_STREAM, type SegmentKind, segmentFileName, viewSeq } from '../format/index-layout.js';
import { keyOf } from '../format/key-hash.js';
import type { DamageHandler } from '../log-reader.js';
import { buildMemtableDirectory, mergeDirectoryIfNeeded, rebuildDirectorySlot } from './directory-jobs.js';
import { type KnownSurvivors, patchDirectorySlot } from './directory-patch.js';
import { EntryArrays } from './entry-arrays.js';
import { indexedItems } from './indexed-records.js';
import { Memtable } from './memtable.js';
import type { SegmentEntries } from './segment-backend.js';
import { KINDS, NOT_BUILT_YET, type SegmentCatalog, type SegmentSlot } from './segment-catalog.js';
import type { DirectorySlot, StreamDirectory } from './stream-directory.js';
import { NameKeys, viewName } from './view-names.js';

export interface IndexJobsOptions {
  engine: LogEngine;
  catalog: SegmentCatalog;
  writable: boolean;
  maxSegments: number;
  /** Merge runs of segments of about one size too (tieredMerge), not only past maxSegments. */
  tieredMerges?: boolean;
  flushLog: () => Promise<void>;
  warn: (message: string) => void;
  /** Told of each damaged record a scan of the log skips. */
  onDamaged: DamageHandler;
  /** A frozen memtable is in segments now and no longer read. */
  retired?: (m: Memtable) => void;
  /** The stream directory, built and merged with the segments. */
  directory: StreamDirectory;
  /** A memtable's bound (memory-budget.ts): a directory rebuild or patch holds at most as much of
   * its streams' entries at once (directory-jobs.ts). */
  memtableEntries?: number;
}

/** A failed job is not tried again before this: builds asked for on every append must not turn
 * into a loop of failing attempts. */
const RETRY_DELAY_MS = 100;
/** A rebuild yields to the event loop after this many records (a few milliseconds of work). */
const YIELD_EVERY_RECORDS = 8192;

export class IndexJobs {
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  /** A buildFrozen job is queued or running. */
  private building = false;
  /** The last maintenance failure's warning, and when a failed build may be tried again. */
  private lastFailure: string | undefined;
  private retryAfter = 0;
  /** One set of entry arrays for every build: builds run one at a time, on this queue. */
  private readonly entryArrays = new EntryArrays();
  private readonly takeEntries = (n: number) => this.entryArrays.take(n);
  /** Keys of stream ids and category and type names, for rebuilds. */
  private readonly names = new NameKeys();
  /** Segments built from memtables and merges made since open (IndexStats). */
  segmentBuilds = 0;
  segmentMerges = 0;

  /** `frozen`: the index's queue of frozen memtables, oldest first; built ones are shifted off. */
  constructor(
    private readonly o: IndexJobsOptions,
    private readonly frozen: Memtable[],
  ) {}

  private enqueue(job: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        await job();
        this.lastFailure = undefined;
      } catch (err) {
        // Retried whenever asked (appends waiting for the index ask often): said once per cause.
        const message = `index maintenance failed, will retry: ${(err as Error).message}`;
        if (message !== this.lastFailure) this.o.warn(message);
        this.lastFailure = message;
        this.retryAfter = Date.now() + RETRY_DELAY_MS;
      }
    });
  }

  /**
   * Opens every segment the catalog has not opened yet, so one that is unreadable (damaged, or of
   * another format version after an upgrade) is found and rebuilt soon after the store opens
   * rather than by the first lookup that needs it; the open itself reads no segment.
   */
  checkSegments(): void {
    if (!this.o.writable) return;
    const { catalog } = this.o;
    this.enqueue(async () => {
      for (const kind of KINDS) for (const slot of catalog.of(kind)) catalog.readerOf(slot);
    });
  }

  /** Builds every frozen memtable into a stream and a command segment, then merges if needed. */
  buildFrozen(): void {
    // One build job queued or running at a time: it takes every frozen memtable, including those
    // frozen while it runs, so the queue of jobs stays bounded however often this is called.
    if (!this.o.writable || this.frozen.length === 0 || this.building || Date.now() < this.retryAfter) return;
    this.building = true;
    this.enqueue(async () => {
      try {
        await this.buildAll();
      } finally {
        this.building = false;
      }
    });
  }

  private async buildAll(): Promise<void> {
    const { catalog } = this.o;
    while (this.frozen.length > 0 && !this.stopped) {
      const m = this.frozen[0] as Memtable;
      await this.o.flushLog();
      const names = new Map<SegmentKind, { name: string; from: number }>();
      for (const kind of KINDS) {
        const from = catalog.coverage(kind);
        const name = segmentFileName(kind, from, m.toPosition);
        await catalog.backend.build(
          catalog.dir,
          name,
          { kind, fromPosition: from, toPosition: m.toPosition },
          m.toEntries(kind, this.takeEntries),
        );
        this.segmentBuilds++;
        names.set(kind, { name, from });
      }
      const listing = await buildMemtableDirectory(this.o.directory, m);
      // Swap in one synchronous step: no lookup sees an entry twice or not at all.
      for (const [kind, { name, from }] of names) catalog.append(kind, name, from, m.toPosition, m.createdAt);
      this.o.directory.append(listing.name, listing.from, m.toPosition);
      this.frozen.shift();
      this.o.retired?.(m);
      for (const kind of KINDS) await this.mergeIfNeeded(kind);
      await mergeDirectoryIfNeeded(this.o.directory, this.o.maxSegments);
    }
  }

  /** Builds a missing, damaged or not yet built stream directory slot from its log range. */
  rebuildDirectory(slot: DirectorySlot): void {
    if (!this.o.writable) return;
    this.enqueue(async () => {
      if (!this.o.directory.chain.includes(slot)) return; // replaced meanwhile
      const firstBuild = slot.broken === NOT_BUILT_YET;
      await rebuildDirectorySlot(this.o.directory, slot, this.o.engine, this.o.onDamaged, this.o.memtableEntries);
      if (!firstBuild) this.o.warn(`stream directory ${slot.name} rebuilt from the log`);
    });
  }

  /**
   * Rebuilds from the log every directory file overlapping the log ranges (a scavenge removed
   * events there: an erased stream's id must leave the files). The slots are chosen when the job
   * runs, after any merge queued before it, so a merge cannot carry the old entries on.
   */
  rebuildDirectoriesOver(ranges: readonly (readonly [number, number])[], known?: KnownSurvivors): Promise<void> {
    if (!this.o.writable || ranges.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.enqueue(async () => {
        try {
          const slots = this.o.directory.chain.filter((s) => ranges.some(([from, to]) => s.from < to && s.to > from));
          for (const slot of slots) {
            if (!this.o.directory.chain.includes(slot)) continue;
            if (known && (await patchDirectorySlot(this.o.directory, slot, known, this.o.memtableEntries))) continue;
            await rebuildDirectorySlot(this.o.directory, slot, this.o.engine, this.o.onDamaged, this.o.memtableEntries);
          }
          resolve();
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  /** Merges while tieredMerge finds a run to merge, and the oldest segments past maxSegments. */
  private async mergeIfNeeded(kind: SegmentKind): Promise<void> {
    for (;;) {
      const chain = this.o.catalog.of(kind);
      // Appends wait while MAX_FROZEN_MEMTABLES wait for their build, so a tiered merge (optional)
      // waits while a memtable does: buildAll comes back to it after that build, and appends never
      // wait behind a cascade of merges (on a big store seconds long). Past maxSegments a chain
      // merges still, which keeps the bound of segments per lookup.
      const inputs =
        chain.length > this.o.maxSegments
          ? chain.slice(0, chain.length - Math.floor(this.o.maxSegments / 2))
          : this.frozen.length === 0 &&
            this.o.tieredMerges &&
            tieredMerge(chain, (s) => (s.broken ? undefined : this.o.catalog.readerOf(s)?.header.entryCount));
      if (!inputs || !(await this.merge(kind, inputs))) return;
    }
  }

  /** Merges consecutive slots into one; false when one of them waits for its rebuild. */
  private async merge(kind: SegmentKind, inputs: SegmentSlot[]): Promise<boolean> {
    const { catalog } = this.o;
    if (inputs.some((s) => !catalog.readerOf(s))) return false; // after the rebuild
    const from = (inputs[0] as SegmentSlot).from;
    const to = (inputs[inputs.length - 1] as SegmentSlot).to;
    const name = segmentFileName(kind, from, to);
    const readers = inputs.map((s) => s.reader as NonNullable<SegmentSlot['reader']>);
    await catalog.backend.merge(catalog.dir, name, { kind, fromPosition: from, toPosition: to }, readers);
    this.segmentMerges++;
    catalog.replace(kind, inputs, name);
    return true;
  }

  /**
   * The entries of a slot's log range, read from the log, yielding to the event loop every few
   * thousand records (a slot may span a chunk: the read models' first build in an older store).
   * Stream, category and type entries go straight into the arrays (a build sorts them): a damaged
   * record skipped there leaves a hole in its stream's versions, which a memtable's runs refuse.
   */
  private async entriesOfRange(slot: SegmentSlot): Promise<SegmentEntries> {
    const records = indexedItems(this.o.engine, slot.from, () => slot.to, this.o.onDamaged);
    const m = new Memtable(slot.from);
    const hi: number[] = [];
    const lo: number[] = [];
    const seq: number[] = [];
    const pos: number[] = [];
    let n = 0;
    for (const r of records) {
      if (++n % YIELD_EVERY_RECORDS === 0) await new Promise((r) => setImmediate(r));
      if ('erasedKey' in r) {
        if (slot.kind === SEGMENT_KIND_COMMAND) m.addCommand(r.erasedKey, [r.position]);
        continue;
      }
      const { position, fields: f } = r;
      if (slot.kind === SEGMENT_KIND_COMMAND) {
        if (f.commandId !== undefined) m.addCommand(keyOf(f.commandId), [position]);
        continue;
      }
      const name = slot.kind === SEGMENT_KIND_STREAM ? f.streamId : viewName(slot.kind, f);
      if (name === undefined) continue;
      const key = this.names.of(name);
      hi.push(key.hi);
      lo.push(key.lo);
      seq.push(slot.kind === SEGMENT_KIND_STREAM ? f.version : viewSeq(position));
      pos.push(position);
    }
    if (slot.kind === SEGMENT_KIND_COMMAND) return m.toEntries(slot.kind, this.takeEntries);
    const out = this.takeEntries(pos.length);
    out.hi.set(hi);
    out.lo.set(lo);
    out.seq.set(seq);
    out.position.set(pos);
    return out;
  }

  /** Rebuilds a missing or damaged segment from its log range. */
  rebuild(slot: SegmentSlot): void {
    if (!this.o.writable) return;
    const { catalog } = this.o;
    this.enqueue(async () => {
      const entries = await this.entriesOfRange(slot);
      // Same name as the damaged file: the rename replaces it.
      const name = segmentFileName(slot.kind, slot.from, slot.to);
      await catalog.backend.build(catalog.dir, name, { kind: slot.kind, fromPosition: slot.from, toPosition: slot.to }, entries);
      const firstBuild = slot.broken === NOT_BUILT_YET;
      catalog.replace(slot.kind, [slot], name);
      if (!firstBuild) this.o.warn(`index segment ${name} rebuilt from the log`);
    });
  }

  /** Waits for the work queued so far (and whatever it queued meanwhile). */
  async idle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.chain;
      await current;
    } while (current !== this.chain);
  }

  /** Jobs not started yet are dropped. */
  stop(): void {
    this.stopped = true;
    this.entryArrays.clear();
  }
}

/** Segments of about one size merged at once (tieredMerge). */
const TIER_FANOUT = 4;

/**
 * The newest run of segments of about one size (each older one at most twice the largest newer
 * one in the run), when it holds TIER_FANOUT or more: merged, they make one segment of the next
 * tier. Segments stay about (TIER_FANOUT - 1) per tier, a few tiers in all, whatever the memtables'
 * size: a point lookup or an absent command probes each segment's Bloom filter and searches the
 * ones it lets through, so a small memory budget (small memtables, many small builds) would
 * otherwise pay for up to maxSegments segments where large memtables made a few. Each entry is
 * rewritten about once per tier. A slot without a reader (broken, or not built yet) ends the run;
 * only the run's slots are opened.
 */
function tieredMerge(chain: readonly SegmentSlot[], sizeOf: (s: SegmentSlot) => number | undefined): SegmentSlot[] | undefined {
  let start = chain.length;
  let largest = 0;
  while (start > 0) {
    const size = sizeOf(chain[start - 1] as SegmentSlot);
    if (size === undefined || (largest > 0 && size > 2 * largest)) break;
    largest = Math.max(largest, size);
    start--;
  }
  return chain.length - start >= TIER_FANOUT ? chain.slice(start) : undefined;
}
