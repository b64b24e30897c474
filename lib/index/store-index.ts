/**
 * The store's index, after the ENode design: what is recent lives in memory (the latest version of
 * each recently written stream, recently seen command ids, and the memtables), everything older in
 * immutable segment files with Bloom filters. Lookups go newest to oldest: dictionaries, active
 * memtable, frozen memtables, segments; a segment whose filter rules the key out costs a few bit
 * tests. Segment hits are hash-keyed candidates; callers check them against the records.
 *
 * Background work (builds, merges, rebuilds) is IndexJobs'.
 */

import type { LogEngine } from '../engine/log-engine.js';
import { CorruptionError } from '../errors.js';
import { SEGMENT_KIND_COMMAND, SEGMENT_KIND_STREAM } from '../format/index-layout.js';
import { keyOf } from '../format/key-hash.js';
import { decodeIndexFields } from '../format/record-codec.js';
import { framesOf, scanBlocks } from '../log-reader.js';
import type { IndexStats } from '../types.js';
import { IndexJobs } from './index-jobs.js';
import { LatestVersions } from './latest-versions.js';
import { Memtable } from './memtable.js';
import { RecentKeys } from './recent-keys.js';
import { KINDS, type SegmentCatalog, type SegmentSlot } from './segment-catalog.js';

const MAX_SEQ = 0xffffffff;
const RECENT_STREAMS = 1000;
/** A shared empty answer: a miss allocates nothing. */
const NO_HITS = new Float64Array(0);

export interface StoreIndexOptions {
  engine: LogEngine;
  catalog: SegmentCatalog;
  writable: boolean;
  memtableEntries: number;
  maxSegments: number;
  retentionMs: number;
  logEnd: () => number;
  /** Makes everything written so far durable (before a memtable becomes a segment). */
  flushLog: () => Promise<void>;
  warn: (message: string) => void;
}

export interface IndexedAppend {
  streamId: string;
  firstVersion: number;
  positions: number[];
  commandId?: string;
}

export type { IndexStats } from '../types.js';

export interface IndexCounts {
  events: number;
  streams: number;
  commands: number;
}

interface Fields {
  streamId: string;
  version: number;
  commandId: string | undefined;
}

export class StoreIndex {
  private readonly latestVersions = new LatestVersions();
  private readonly recentCommands = new RecentKeys();
  /** The most recently written streams, newest last (bounded): what a browser lists first. */
  private readonly recentStreams: string[] = [];
  private recentStreamsNext = 0;
  private replaying = false;
  private active: Memtable;
  private readonly frozen: Memtable[] = [];
  private readonly jobs: IndexJobs;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly o: StoreIndexOptions) {
    this.jobs = new IndexJobs(o, this.frozen);
    const start = Math.min(...KINDS.map((k) => o.catalog.coverage(k)));
    this.active = new Memtable(start, Number.NEGATIVE_INFINITY);
    this.replaying = true;
    this.replay(start);
    this.replaying = false;
    // Replay found nothing for it: it holds no command the recent set does not know, so a command
    // missing from that set need not be looked for in it.
    if (this.active.entries === 0) this.active.createdAt = Date.now();
    for (const kind of KINDS) for (const slot of o.catalog.of(kind)) if (slot.broken) this.jobs.rebuild(slot);
    this.jobs.buildFrozen();
    this.timer = setInterval(() => this.evict(Date.now()), Math.max(1000, Math.min(o.retentionMs / 4, 60_000)));
    this.timer.unref();
  }

  /** Indexes the log from `start` to its end: the part no segment covers yet. */
  private replay(start: number): void {
    const streamsFrom = this.o.catalog.coverage(SEGMENT_KIND_STREAM);
    const commandsFrom = this.o.catalog.coverage(SEGMENT_KIND_COMMAND);
    for (const { bytes, positions } of scanBlocks(this.o.engine, start, this.o.logEnd)) {
      let i = 0;
      for (const [off] of framesOf(bytes)) {
        const position = positions[i++] as number;
        const f = decodeIndexFields(bytes, off);
        if (position >= streamsFrom) this.active.addStream(f.streamId, f.version, [position]);
        if (f.commandId !== undefined && position >= commandsFrom) this.active.addCommand(keyOf(f.commandId), [position]);
        this.active.toPosition = position + bytes.readUInt32LE(off);
        if (this.active.entries >= this.o.memtableEntries && this.o.writable) this.freeze();
      }
    }
    this.active.toPosition = Math.max(this.active.toPosition, this.o.logEnd());
  }

  // ---- writes ----

  /** Records appends just written; `end` is the log's end after them. */
  add(appends: IndexedAppend[], end: number): void {
    const time = Date.now();
    for (const a of appends) {
      const last = a.positions.length - 1;
      this.latestVersions.set(a.streamId, a.firstVersion + last, a.positions[last] as number, time);
      this.active.addStream(a.streamId, a.firstVersion, a.positions);
      this.recentStreams[this.recentStreamsNext] = a.streamId; // a ring; duplicates are dropped on read
      this.recentStreamsNext = (this.recentStreamsNext + 1) % RECENT_STREAMS;
      if (a.commandId !== undefined) {
        const key = keyOf(a.commandId);
        this.active.addCommand(key, a.positions);
        this.recentCommands.add(key, time);
      }
    }
    this.active.toPosition = end;
    if (this.active.entries >= this.o.memtableEntries && this.o.writable) {
      this.freeze();
      this.jobs.buildFrozen();
    }
  }

  private freeze(): void {
    this.frozen.push(this.active);
    this.active = new Memtable(this.active.toPosition, this.replaying ? Number.NEGATIVE_INFINITY : Date.now());
  }

  // ---- lookups ----

  /** Latest written version of a stream and its position ({0, 0} for none). */
  latest(streamId: string): { version: number; position: number } {
    const cached = this.latestVersions.get(streamId);
    if (cached) return cached;
    const found = this.fromMemtables((m) => m.latest(streamId)) ?? this.segmentLatest(streamId);
    if (!found) return { version: 0, position: 0 };
    this.latestVersions.set(streamId, found.version, found.position, Date.now());
    return found;
  }

  /** Candidate positions of versions [from, to] in version order (check the records: keys may collide). */
  streamPositions(streamId: string, from: number, to: number): number[] {
    if (from > to) return [];
    const key = keyOf(streamId);
    const out: number[] = [];
    for (const slot of this.o.catalog.of(SEGMENT_KIND_STREAM)) {
      const hits = this.slotRange(slot, key, streamId, from, to);
      for (let i = 1; i < hits.length; i += 2) out.push(hits[i] as number);
    }
    for (const m of [...this.frozen, this.active]) for (const p of m.range(streamId, from, to)) out.push(p);
    return out;
  }

  /**
   * Offers candidate positions of one version to `accept`, newest source first, until it accepts
   * one (its record matches): a point lookup does not descend into every segment. A callback, not
   * a generator, because this runs once per point lookup.
   */
  findVersion(streamId: string, version: number, accept: (position: number) => boolean): void {
    const inActive = this.active.positionOf(streamId, version);
    if (inActive !== undefined && accept(inActive)) return;
    for (let i = this.frozen.length - 1; i >= 0; i--) {
      const p = (this.frozen[i] as Memtable).positionOf(streamId, version);
      if (p !== undefined && accept(p)) return;
    }
    const key = keyOf(streamId);
    const slots = this.o.catalog.of(SEGMENT_KIND_STREAM);
    for (let i = slots.length - 1; i >= 0; i--) {
      const slot = slots[i] as SegmentSlot;
      const hits = this.slotRange(slot, key, streamId, version, version);
      for (let k = 1; k < hits.length; k += 2) if (accept(hits[k] as number)) return;
    }
  }

  /** Up to `limit` streams written most recently by this process, newest first. */
  recentlyWritten(limit: number): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    for (let k = 1; k <= this.recentStreams.length && out.length < limit; k++) {
      const id = this.recentStreams[(this.recentStreamsNext - k + RECENT_STREAMS) % RECENT_STREAMS];
      if (id !== undefined && !seen.has(id)) {
        seen.add(id);
        out.push(id);
      }
    }
    return out;
  }

  /** Whether the command was stored within the retention period (without touching the disk). */
  isRecentCommand(commandId: string): boolean {
    return this.recentCommands.has(keyOf(commandId));
  }

  /** Candidate positions of a command's events, oldest first; `disk` includes the segments. */
  commandPositions(commandId: string, disk: boolean): number[] | undefined {
    // While every memtable is younger than the retention, a command missing from the recent set is
    // in no memtable either.
    const oldest = this.frozen[0] ?? this.active;
    const memtablesCovered = Date.now() - this.o.retentionMs <= oldest.createdAt;
    const key = keyOf(commandId);
    if (!memtablesCovered || this.recentCommands.has(key)) {
      const inMemory = this.fromMemtables((m) => m.command(key));
      if (inMemory) return inMemory;
    }
    if (!disk) return undefined;
    const slots = this.o.catalog.of(SEGMENT_KIND_COMMAND);
    for (let i = slots.length - 1; i >= 0; i--) {
      const slot = slots[i] as SegmentSlot;
      const hits = this.slotRange(slot, key, commandId, 0, MAX_SEQ);
      if (hits.length > 0) {
        const positions: number[] = [];
        for (let k = 1; k < hits.length; k += 2) positions.push(hits[k] as number);
        return positions.sort((a, b) => a - b);
      }
    }
    return undefined;
  }

  private fromMemtables<T>(fn: (m: Memtable) => T | undefined): T | undefined {
    const r = fn(this.active);
    if (r !== undefined) return r;
    for (let i = this.frozen.length - 1; i >= 0; i--) {
      const f = fn(this.frozen[i] as Memtable);
      if (f !== undefined) return f;
    }
    return undefined;
  }

  private segmentLatest(streamId: string): { version: number; position: number } | undefined {
    const key = keyOf(streamId);
    const slots = this.o.catalog.of(SEGMENT_KIND_STREAM);
    for (let i = slots.length - 1; i >= 0; i--) {
      const slot = slots[i] as SegmentSlot;
      // Flat [version, position] pairs of this stream's candidates in the slot, checked below.
      const hits = this.guard(
        slot,
        (r) => {
          if (!r.mayContain(key.hi, key.lo)) return NO_HITS;
          const last = r.findLast(key.hi, key.lo);
          if (!last) return NO_HITS;
          if (this.fieldsAt([last[1]])[0]?.streamId === streamId) return Float64Array.from(last);
          return r.range(key.hi, key.lo, 0, MAX_SEQ); // a colliding key: check every entry
        },
        () => this.scanSlot(slot, (f) => f.streamId === streamId),
      );
      let best: { version: number; position: number } | undefined;
      const positions: number[] = [];
      for (let k = 1; k < hits.length; k += 2) positions.push(hits[k] as number);
      const fields = positions.length === 1 ? undefined : this.fieldsAt(positions);
      for (let k = 0; k < positions.length; k++) {
        if (fields && fields[k]?.streamId !== streamId) continue;
        const version = hits[2 * k] as number;
        if (!best || version > best.version) best = { version, position: positions[k] as number };
      }
      if (best) return best;
    }
    return undefined;
  }

  /** Index fields of the records at `positions`. */
  fieldsAt(positions: number[]): Fields[] {
    if (positions.length === 0) return [];
    const bytes = this.o.engine.readFrames(positions);
    const out: Fields[] = [];
    for (let off = 0; off < bytes.length; off += bytes.readUInt32LE(off)) out.push(decodeIndexFields(bytes, off));
    return out;
  }

  /** Flat [seq, position] pairs of `key` (the key of stream or command `id`) with from <= seq <= to
   * in one slot: the Bloom filter, then the tree; a broken slot answers by scanning its log range.
   * No callbacks: this runs for every segment of every lookup. */
  private slotRange(slot: SegmentSlot, key: { hi: number; lo: number }, id: string, from: number, to: number): Float64Array {
    const r = slot.reader;
    if (!slot.broken && r) {
      try {
        return r.mayContain(key.hi, key.lo) ? r.range(key.hi, key.lo, from, to) : NO_HITS;
      } catch (err) {
        this.markBroken(slot, err);
      }
    }
    return slot.kind === SEGMENT_KIND_STREAM
      ? this.scanSlot(slot, (f) => f.streamId === id && f.version >= from && f.version <= to)
      : this.scanSlot(slot, (f) => f.commandId === id);
  }

  /** Runs a segment lookup; a broken or damaged segment answers by scanning its log range. */
  private guard(
    slot: SegmentSlot,
    lookup: (r: NonNullable<SegmentSlot['reader']>) => Float64Array,
    fallback: () => Float64Array,
  ): Float64Array {
    if (!slot.broken && slot.reader) {
      try {
        return lookup(slot.reader);
      } catch (err) {
        this.markBroken(slot, err);
      }
    }
    return fallback();
  }

  /** A segment that failed a lookup with CorruptionError is answered from the log until rebuilt;
   * any other error is the caller's. */
  private markBroken(slot: SegmentSlot, err: unknown): void {
    if (!(err instanceof CorruptionError)) throw err;
    this.o.warn(`${err.message}; answering from the log and rebuilding the segment`);
    slot.broken = err.message;
    this.jobs.rebuild(slot);
  }

  /** Flat [seq, position] pairs of the records in the slot's log range that `match`. */
  private scanSlot(slot: SegmentSlot, match: (f: Fields) => boolean): Float64Array {
    const out: number[] = [];
    const ordinal = new Map<string, number>();
    for (const { bytes, positions } of scanBlocks(this.o.engine, slot.from, () => slot.to)) {
      let i = 0;
      for (const [off] of framesOf(bytes)) {
        const position = positions[i++] as number;
        const f = decodeIndexFields(bytes, off);
        if (!match(f)) continue;
        if (slot.kind === SEGMENT_KIND_STREAM) out.push(f.version, position);
        else {
          const n = ordinal.get(f.commandId as string) ?? 0;
          ordinal.set(f.commandId as string, n + 1);
          out.push(n, position);
        }
      }
    }
    return Float64Array.from(out);
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

  stats(): IndexStats {
    const all = KINDS.flatMap((k) => this.o.catalog.of(k));
    return {
      streamSegments: this.o.catalog.of(SEGMENT_KIND_STREAM).length,
      commandSegments: this.o.catalog.of(SEGMENT_KIND_COMMAND).length,
      brokenSegments: all.filter((s) => s.broken).length,
      memtableEntries: this.active.entries + this.frozen.reduce((a, m) => a + m.entries, 0),
      frozenMemtables: this.frozen.length,
      latestVersionEntries: this.latestVersions.size,
      recentCommandEntries: this.recentCommands.size,
    };
  }

  /** Events, streams and commands in the store, from segment headers and memtables (a broken
   * segment's share is missing until it is rebuilt). */
  counts(): IndexCounts {
    const c: IndexCounts = { events: 0, streams: 0, commands: 0 };
    for (const slot of this.o.catalog.of(SEGMENT_KIND_STREAM)) {
      c.events += slot.reader?.header.entryCount ?? 0;
      c.streams += slot.reader?.header.starts ?? 0;
    }
    for (const slot of this.o.catalog.of(SEGMENT_KIND_COMMAND)) c.commands += slot.reader?.header.starts ?? 0;
    for (const m of [...this.frozen, this.active]) {
      const mc = m.counts();
      c.events += mc.events;
      c.streams += mc.streams;
      c.commands += mc.commands;
    }
    return c;
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
  }
}
