/**
 * The store's index, after the ENode design: what is recent lives in memory (the latest version of
 * each recently written stream, recently seen command ids, and the memtables), everything older in
 * immutable segment files with Bloom filters. Lookups go newest to oldest: dictionaries, active
 * memtable, frozen memtables, segments; a segment whose filter rules the key out costs a few bit
 * tests. Segment hits are hash-keyed candidates; callers check them against the records.
 *
 * Background work (builds, merges, rebuilds) is IndexJobs'; the search of segment files is
 * SegmentSearch's.
 */

import { SEGMENT_KIND_STREAM, type ViewKind } from '../format/index-layout.js';
import { type Key, keyOf } from '../format/key-hash.js';
import { CHUNK_HEADER_SIZE } from '../format/layout.js';
import type { IndexStats } from '../types.js';
import type { DirectoryEntry } from './directory-backend.js';
import { streamsOfSlotForPage } from './directory-jobs.js';
import type { KnownSurvivors } from './directory-patch.js';
import { indexClock } from './index-clock.js';
import { type IndexCounts, indexCounts, indexStats } from './index-counts.js';
import { IndexJobs } from './index-jobs.js';
import { LatestVersions } from './latest-versions.js';
import { replayLog } from './log-replay.js';
import { Memtable } from './memtable.js';
import { RecentKeys, SEEN_AGAIN } from './recent-keys.js';
import { RecentStreams } from './recent-streams.js';
import { KINDS, type SegmentCatalog } from './segment-catalog.js';
import { type IndexFields, SegmentSearch } from './segment-search.js';
import type { IndexedAppend, StoreIndexOptions } from './store-index-options.js';
import type { StreamDirectory } from './stream-directory.js';
import { BLOCK_BYTES, BlockPool } from './stream-id-table.js';
import { type StreamPageQuery, streamPage } from './stream-listing.js';
import { versionInSlots } from './version-in-slots.js';
import { addViews, NameKeys } from './view-names.js';
import { ViewSearch } from './view-search.js';

export type { IndexStats } from '../types.js';
export type { IndexCounts } from './index-counts.js';
export type { IndexedAppend, StoreIndexOptions } from './store-index-options.js';

export class StoreIndex {
  private readonly latestVersions: LatestVersions;
  private readonly recentCommands: RecentKeys;
  /** The most recently written streams, newest last (bounded): what a browser lists first. */
  private readonly recentStreams = new RecentStreams();
  private replaying = false;
  private active: Memtable;
  private readonly frozen: Memtable[] = [];
  private jobs: IndexJobs;
  private segments: SegmentSearch;
  private readonly timer: NodeJS.Timeout;
  /** Keys of category and type names. */
  private readonly names = new NameKeys();
  private views: ViewSearch;
  /** Column blocks retired memtables give back: about one memtable's worth (BlockPool). */
  private readonly blocks: BlockPool;

  constructor(private o: StoreIndexOptions) {
    this.blocks = new BlockPool(Math.ceil((o.memtableEntries * 32) / BLOCK_BYTES) + 8);
    this.latestVersions = new LatestVersions(indexClock.now(), o.maxRecentStreams);
    this.recentCommands = new RecentKeys(indexClock.now(), o.maxRecentCommands);
    this.active = new Memtable(CHUNK_HEADER_SIZE, Number.NEGATIVE_INFINITY, this.blocks);
    [this.jobs, this.segments, this.views] = this.attach();
    // Replay found nothing for it: it holds no command the recent set does not know, so a command
    // missing from that set need not be looked for in it.
    if (this.active.entries === 0) this.active.createdAt = indexClock.now();
    for (const kind of KINDS) for (const slot of o.catalog.of(kind)) if (slot.broken) this.jobs.rebuild(slot);
    for (const slot of o.directory.chain) if (slot.broken) this.jobs.rebuildDirectory(slot);
    this.jobs.checkSegments();
    this.jobs.buildFrozen();
    this.timer = setInterval(() => this.evict(indexClock.now()), Math.max(1000, Math.min(o.retentionMs / 4, 60_000)));
    this.timer.unref();
  }

  /** Builds what searches the segment files and stream directories of `this.o`, and the memtables
   * of what they do not cover yet (a replay of the log from there). */
  private attach(): [IndexJobs, SegmentSearch, ViewSearch] {
    const { o } = this;
    // The active memtable inherits a retired one's grown tables (Memtable.adoptTablesOf).
    const retired = (m: Memtable) => {
      this.active.adoptTablesOf(m);
      m.release();
    };
    const jobs = new IndexJobs({ ...o, retired }, this.frozen);
    const segments = new SegmentSearch({ ...o, rebuild: (slot) => this.jobs.rebuild(slot) });
    const views = new ViewSearch(o.catalog, segments, () => [...this.frozen, this.active]);
    o.catalog.onBroken = (slot) => this.jobs.rebuild(slot);
    o.directory.onBroken = (slot) => this.jobs.rebuildDirectory(slot);
    const start = Math.min(...KINDS.map((k) => o.catalog.coverage(k)));
    this.frozen.length = 0;
    this.active = new Memtable(start, Number.NEGATIVE_INFINITY, this.blocks);
    this.replaying = true;
    this.replay(start);
    this.replaying = false;
    return [jobs, segments, views];
  }

  // ---- following a writer (a read-only store: follower.ts) ----

  /** Indexes what the writer made durable since the last call, at most about `maxBytes` of it
   * (whole appends); returns where the indexed log ends now. */
  follow(onRecord: (streamId: string) => void, maxBytes: number): number {
    // None of these is in the recent-command set: lookups must search this memtable.
    this.active.createdAt = Number.NEGATIVE_INFINITY;
    return this.replay(this.active.toPosition, onRecord, maxBytes);
  }

  /** The memtables' entries, long stream ids weighing more (Memtable.weight): a follower trades
   * them for the writer's newer segments (adopt) once they reach indexMemtableEntries. */
  get memtableWeight(): number {
    return this.frozen.reduce((n, m) => n + m.weight, this.active.weight);
  }

  /** Where the memtables start: segments that reach past it would replace some of them. */
  get memtableStart(): number {
    return (this.frozen[0] ?? this.active).fromPosition;
  }

  /** Takes the writer's current segment files and directories in place of the ones found at
   * open, and indexes only what they do not cover (the memtables shrink to the writer's). */
  adopt(catalog: SegmentCatalog, directory: StreamDirectory): void {
    const old = this.o;
    const oldJobs = this.jobs;
    this.o = { ...old, catalog, directory };
    [this.jobs, this.segments, this.views] = this.attach();
    oldJobs.stop();
    old.catalog.close();
    old.directory.close();
  }

  /** Indexes the log from `start` (log-replay.ts); `onRecord`: told of each record's stream (a
   * follower's catch-up, which also keeps the dictionaries current). */
  private replay(start: number, onRecord?: (streamId: string) => void, maxBytes = Number.POSITIVE_INFINITY): number {
    const target = { active: () => this.active, freeze: () => this.freeze(), names: this.names };
    const followed =
      onRecord && ((streamId: string, version: number, position: number) => this.followed(streamId, version, position, onRecord));
    return replayLog(this.o, target, start, followed, maxBytes);
  }

  private followed(streamId: string, version: number, position: number, onRecord: (streamId: string) => void): void {
    this.latestVersions.set(streamId, version, position, indexClock.now());
    this.recentStreams.note(streamId);
    onRecord(streamId);
  }

  // ---- writes ----

  /** Records appends just written; `end` is the log's end after them. */
  add(appends: IndexedAppend[], end: number): void {
    const time = indexClock.now();
    for (const a of appends) {
      const last = a.positions.length - 1;
      this.latestVersions.set(a.streamId, a.firstVersion + last, a.positions[last] as number, time);
      this.active.addStream(a.streamId, a.firstVersion, a.positions);
      addViews(this.active, this.names, a.streamId, a.types, a.positions);
      this.recentStreams.note(a.streamId);
      if (a.commandId !== undefined) {
        const key = keyOf(a.commandId);
        this.active.addCommand(key, a.positions);
        // A command of one event is remembered with that event's position (never 0 or 1: chunk
        // headers come first), so reading it back needs no index search.
        this.recentCommands.add(key, time, a.positions.length === 1 ? (a.positions[0] as number) : SEEN_AGAIN);
      }
    }
    this.active.toPosition = end;
    if (this.active.weight >= this.o.memtableEntries && this.o.writable) {
      this.freeze();
      this.jobs.buildFrozen();
    }
  }

  /** Full memtables waiting for their segment build; asking also retries a build that failed. */
  get frozenMemtables(): number {
    if (this.frozen.length > 0) this.jobs.buildFrozen();
    return this.frozen.length;
  }

  private freeze(): void {
    this.frozen.push(this.active);
    this.active = new Memtable(this.active.toPosition, this.replaying ? Number.NEGATIVE_INFINITY : indexClock.now(), this.blocks);
  }

  // ---- lookups ----

  /** Latest written version of a stream and its position ({0, 0} for none). */
  latest(streamId: string): { version: number; position: number } {
    const cached = this.latestVersions.get(streamId);
    if (cached) return cached;
    // The dictionary holds every stream written since its keptSince (and its filter proves a
    // stream absent further back: absentSince), so no memtable or segment indexed since then
    // holds this one: for a new stream (this runs on each of its appends) that is usually all of
    // them but the segments found at open. Newest memtable first, no closure.
    const since = this.latestVersions.absentSince(streamId);
    let found: { version: number; position: number } | undefined;
    for (let i = this.frozen.length; i >= 0 && found === undefined; i--) {
      const m = i === this.frozen.length ? this.active : (this.frozen[i] as Memtable);
      if (m.createdAt < since) found = m.latest(streamId);
    }
    found ??= this.segments.latest(streamId, since);
    if (!found) return { version: 0, position: 0 };
    this.latestVersions.set(streamId, found.version, found.position, indexClock.now());
    return found;
  }

  /** Candidate positions of versions [from, to] in version order (check the records: keys may collide). */
  streamPositions(streamId: string, from: number, to: number): number[] {
    if (from > to) return [];
    const key = keyOf(streamId);
    const newest = this.newestPosition(streamId);
    const out: number[] = [];
    for (const slot of this.o.catalog.of(SEGMENT_KIND_STREAM)) {
      if (slot.from > newest) break; // this and later slots start after the stream's newest event
      const hits = this.segments.range(slot, key, streamId, from, to);
      for (let i = 1; i < hits.length; i += 2) out.push(hits[i] as number);
    }
    for (let i = 0; i <= this.frozen.length; i++) {
      const m = i < this.frozen.length ? (this.frozen[i] as Memtable) : this.active;
      if (m.fromPosition > newest) break;
      for (const p of m.range(streamId, from, to)) out.push(p);
    }
    return out;
  }

  /**
   * Where the stream's newest event is, from the latest-version dictionary; +Infinity when the
   * dictionary does not know the stream. No memtable or segment that starts after it can hold the
   * stream's entries, so lookups skip them: each skipped memtable is a hash-map miss chain, each
   * skipped segment a Bloom probe and maybe a tree descent.
   */
  private newestPosition(streamId: string): number {
    return this.latestVersions.get(streamId)?.position ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Offers candidate positions of one version to `accept`, newest source first, until it accepts
   * one (its record matches): a point lookup does not descend into every segment. A callback, not
   * a generator, because this runs once per point lookup.
   */
  findVersion(streamId: string, version: number, accept: (position: number) => boolean): void {
    // Sources that start after the stream's newest event are skipped (newestPosition). A stream
    // the dictionary dropped is looked up once (latest() holds it again): a bounded dictionary
    // loses the streams only read, and every point read of one would otherwise ask every source.
    let latest = this.latestVersions.get(streamId);
    if (latest === undefined) {
      const found = this.latest(streamId);
      if (found.version > 0) latest = found;
    }
    const newest = latest === undefined ? Number.POSITIVE_INFINITY : latest.position;
    if (newest >= this.active.fromPosition) {
      const inActive = this.active.positionOf(streamId, version);
      if (inActive !== undefined && accept(inActive)) return;
    }
    for (let i = this.frozen.length - 1; i >= 0; i--) {
      const m = this.frozen[i] as Memtable;
      if (newest < m.fromPosition) continue;
      const p = m.positionOf(streamId, version);
      if (p !== undefined && accept(p)) return;
    }
    versionInSlots(this.o.catalog.of(SEGMENT_KIND_STREAM), this.segments, { streamId, version, latest, newest }, accept);
  }

  /** Up to `limit` streams written most recently by this process, newest first. */
  recentlyWritten(limit: number): string[] {
    return this.recentStreams.newest(limit);
  }

  /**
   * What the recent-command set holds for a key: 0 nothing (not seen within the retention period),
   * SEEN_AGAIN (seen, with several events or under a shared key), else the position of the
   * command's only event. A candidate, like every hash hit: check the record.
   */
  recentCommand(key: Key): number {
    return this.recentCommands.get(key);
  }

  /**
   * Candidate positions of a command's events, oldest first. A command's events are written, and so
   * indexed, together: the newest source (memtable or segment) holding its key has them all, unless
   * that key is another id's too; a caller whose candidates all turned out to be another id's asks
   * again with `everySource`. `disk`: whether to search the segments too; 'recent' searches them
   * only for a command seen within the retention period (it is known to exist, and its events may
   * already be in a segment). `key` and `recentValue` are the caller's keyOf and recentCommand.
   */
  commandPositions(commandId: string, disk: boolean | 'recent', key: Key, recentValue: number, everySource: boolean): number[] | undefined {
    const recent = recentValue !== 0;
    // Made on the first hit: most calls (new command ids) find none.
    let out: number[] | undefined;
    // A command missing from the recent set is in no memtable or segment indexed since the set's
    // keptSince (or its filter's, absentSince), as in latest(). (Judged from the set's own
    // eviction, not from the clock against the retention: eviction drops whole one-second
    // buckets, so keys up to a second younger than its cutoff go too; and a lookup then reads no
    // clock.)
    const keptSince = recent ? this.recentCommands.keptSince : this.recentCommands.absentSince(key);
    for (let i = this.frozen.length; i >= 0; i--) {
      const m = i === this.frozen.length ? this.active : (this.frozen[i] as Memtable);
      if (!recent && m.createdAt >= keptSince) continue;
      const inMemory = m.command(key);
      if (inMemory === undefined) continue;
      if (!everySource) return inMemory;
      out ??= [];
      for (const p of inMemory) out.push(p);
    }
    if (disk === true || (disk === 'recent' && recent)) {
      const found = out ?? [];
      this.segments.commandPositions(key, commandId, recent ? Number.POSITIVE_INFINITY : keptSince, everySource, found);
      if (found.length > 0) out = found;
    }
    return out === undefined ? undefined : out.sort((a, b) => a - b);
  }

  /** Candidate positions of a category's or type's events beyond `after`, in the page's direction
   * (view-search.ts; check the records: keys may collide). */
  viewPositions(kind: ViewKind, name: string, after: number, backward: boolean, max: number): number[] {
    return this.views.positions({ kind, name, key: this.names.of(name), after, backward, max });
  }

  /** A page of the store's streams in id order (stream-listing.ts), and whether more follow. */
  listStreams(q: StreamPageQuery): Promise<{ entries: DirectoryEntry[]; more: boolean }> {
    return streamPage(this.o.directory, [...this.frozen, this.active], q, (slot, page) =>
      streamsOfSlotForPage(this.o.engine, slot, this.o.onDamaged, page, this.o.memtableEntries),
    );
  }

  /** Index fields of the records at `positions`. */
  fieldsAt(positions: number[]): (IndexFields | undefined)[] {
    return this.segments.fieldsAt(positions);
  }

  /** Builds the memtable into segments and directory files now and waits for every build: a
   * scavenge rewrites only what the index files cover. */
  async buildMemtableNow(): Promise<void> {
    if (this.o.writable && this.active.entries > 0) {
      this.freeze();
      this.jobs.buildFrozen();
    }
    await this.jobs.idle();
  }

  /** Rebuilds the directory files over log ranges a scavenge rewrote (index-jobs.ts). */
  rebuildDirectoriesOver(ranges: readonly (readonly [number, number])[], known?: KnownSurvivors): Promise<void> {
    return this.jobs.rebuildDirectoriesOver(ranges, known);
  }

  /** Waits for the background work queued so far. */
  idle(): Promise<void> {
    return this.jobs.idle();
  }

  // ---- memory ----

  /** Drops dictionary entries not used within the retention; they stay findable in memtables and
   * segments. */
  evict(now: number): void {
    const cutoff = now - this.o.retentionMs;
    this.latestVersions.evictBefore(cutoff);
    this.recentCommands.evictBefore(cutoff);
  }

  /** Bytes held beyond the budget's per-entry estimates (memory-budget.ts): long stream ids, and the
   * memtables' lists of category and type keys. */
  extraIdBytes(): { latestVersions: number; memtables: number } {
    const memtables = this.frozen.reduce((n, m) => n + m.extraBytes, this.active.extraBytes);
    return { latestVersions: this.latestVersions.extraBytes, memtables };
  }

  stats(): IndexStats {
    const dictionaries = {
      latestVersionEntries: this.latestVersions.size,
      recentCommandEntries: this.recentCommands.size,
      segmentBuilds: this.jobs.segmentBuilds,
      segmentMerges: this.jobs.segmentMerges,
    };
    return indexStats(this.o.catalog, [...this.frozen, this.active], this.frozen.length, dictionaries);
  }

  /** Events, streams and commands in the store, from segment headers and memtables. */
  counts(): IndexCounts {
    return indexCounts(this.o.catalog, [...this.frozen, this.active]);
  }

  /** Builds what the memtable holds (so the next open replays nothing), then stops. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.o.writable && this.active.entries > 0) {
      this.freeze();
      this.jobs.buildFrozen();
    }
    await this.jobs.idle();
    this.jobs.stop();
    this.o.catalog.close();
    this.o.directory.close();
    await this.o.catalog.backend.close?.();
  }
}
