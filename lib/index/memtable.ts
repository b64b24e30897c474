/**
 * The in-memory part of the index: every stream, command, category and type entry for the log range
 * [fromPosition, toPosition) not yet in a segment. The active memtable takes new appends; when it
 * holds `indexMemtableEntries` entries it is frozen and built into segments in the background while
 * a fresh one takes over (the double buffer). Versions of a stream inside one memtable are
 * contiguous, because a memtable covers a contiguous range of the log.
 */

import {
  SEGMENT_KIND_CATEGORY,
  SEGMENT_KIND_COMMAND,
  SEGMENT_KIND_STREAM,
  type SegmentKind,
  type ViewKind,
} from '../format/index-layout.js';
import type { Key } from '../format/key-hash.js';
import { BYTES_PER_ENTRY, extraIdBytes } from '../memory-budget.js';
import { CommandTable } from './command-table.js';
import { indexClock } from './index-clock.js';
import { NEW_KEY_BYTES, PositionLists } from './position-lists.js';
import { newSegmentEntries, type SegmentEntries } from './segment-backend.js';
import type { BlockPool } from './stream-id-table.js';
import { StreamRuns } from './stream-runs.js';

export class Memtable {
  /** Stream ids to the positions of their versions held here (stream-runs.ts). */
  readonly streams: StreamRuns;
  /** Command-id keys to their events' positions (hashed: hits are checked against records). */
  readonly commands = new CommandTable();
  /** Category and type keys to their events' positions (the read models; hashed likewise). */
  readonly categories: PositionLists;
  readonly types: PositionLists;
  entries = 0;
  /** Bytes held beyond BYTES_PER_ENTRY.memtables per entry: extraIdBytes of the stream ids
   * (memory-budget.ts) and NEW_KEY_BYTES per category or type key (position-lists.ts). */
  extraBytes = 0;
  toPosition: number;

  /** `createdAt`: when this memtable started taking appends (-Infinity for one filled by replay at
   * open, whose commands the recent-command set does not know). `blocks`: where its columns take
   * their blocks, and give them back at release(). */
  constructor(
    readonly fromPosition: number,
    public createdAt = indexClock.now(),
    blocks?: BlockPool,
  ) {
    this.toPosition = fromPosition;
    this.streams = new StreamRuns(blocks);
    this.categories = new PositionLists(blocks);
    this.types = new PositionLists(blocks);
  }

  /** Once retired (built into segments, and out of every lookup's sources): gives its column
   * blocks back for the next memtable. Nothing reads it after. */
  release(): void {
    this.streams.release();
    this.categories.release();
    this.types.release();
  }

  /** Takes over a retired memtable's grown command table and stream id index, already sized and
   * touched for a like workload (CommandTable.adoptArraysOf, StreamIdTable.adoptIndexOf). */
  adoptTablesOf(retired: Memtable): void {
    this.commands.adoptArraysOf(retired.commands);
    this.streams.adoptIndexOf(retired.streams);
  }

  addStream(streamId: string, firstVersion: number, positions: readonly number[]): void {
    if (this.streams.add(streamId, firstVersion, positions)) this.extraBytes += extraIdBytes(streamId);
    this.entries += positions.length;
  }

  /** Entries, with the stream ids' bytes beyond the budget's estimate counted as entries of that
   * estimate: what indexMemtableEntries bounds (a memtable is frozen at it), so long ids are held
   * to the budget in fewer entries. */
  get weight(): number {
    return this.entries + this.extraBytes / BYTES_PER_ENTRY.memtables;
  }

  addCommand(key: Key, positions: readonly number[]): void {
    this.commands.add(key, positions);
    this.entries += positions.length;
  }

  /** Adds an event to its category's (kind SEGMENT_KIND_CATEGORY) or its type's entries. */
  addView(kind: ViewKind, key: Key, position: number): void {
    if (this.viewsOf(kind).add(key, position)) this.extraBytes += NEW_KEY_BYTES;
    this.entries++;
  }

  viewsOf(kind: ViewKind): PositionLists {
    return kind === SEGMENT_KIND_CATEGORY ? this.categories : this.types;
  }

  /** Candidate positions of the command with this key, oldest first. */
  command(key: Key): number[] | undefined {
    return this.commands.get(key);
  }

  /** The stream's newest version held here and its position. */
  latest(streamId: string): { version: number; position: number } | undefined {
    return this.streams.latest(streamId);
  }

  /** The position of one version held here. */
  positionOf(streamId: string, version: number): number | undefined {
    return this.streams.positionOf(streamId, version);
  }

  /** Positions of versions [from, to] held here, in version order. */
  range(streamId: string, from: number, to: number): number[] {
    return this.streams.range(streamId, from, to);
  }

  /** Events, streams started (version 1 here) and commands held. */
  counts(): { events: number; streams: number; commands: number } {
    return { events: this.streams.events, streams: this.streams.started(), commands: this.commands.size };
  }

  /** The entries of one kind, keyed, for a segment build, in arrays from `arrays(n)` (fresh ones
   * by default). */
  toEntries(kind: SegmentKind, arrays: (n: number) => SegmentEntries = newSegmentEntries): SegmentEntries {
    if (kind === SEGMENT_KIND_STREAM) return this.streams.toEntries(arrays(this.streams.events));
    if (kind === SEGMENT_KIND_COMMAND) return this.commands.toEntries(arrays(this.commands.entries));
    const views = this.viewsOf(kind);
    return views.toEntries(arrays(views.entries));
  }
}
