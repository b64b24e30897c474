/**
 * The in-memory part of the index: every stream and command entry for the log range
 * [fromPosition, toPosition) not yet in a segment. The active memtable takes new appends; when it
 * holds `indexMemtableEntries` entries it is frozen and built into segments in the background while
 * a fresh one takes over (the double buffer). Versions of a stream inside one memtable are
 * contiguous, because a memtable covers a contiguous range of the log.
 */

import { CorruptionError } from '../errors.js';
import { SEGMENT_KIND_STREAM, type SegmentKind } from '../format/index-layout.js';
import { type Key, keyOf } from '../format/key-hash.js';
import { CommandTable } from './command-table.js';
import { indexClock } from './index-clock.js';
import type { SegmentEntries } from './segment-backend.js';

interface StreamRun {
  firstVersion: number;
  positions: number[];
}

export class Memtable {
  readonly streams = new Map<string, StreamRun>();
  /** Command-id keys to their events' positions (hashed: hits are checked against records). */
  readonly commands = new CommandTable();
  entries = 0;
  toPosition: number;

  /** `createdAt`: when this memtable started taking appends (-Infinity for one filled by replay at
   * open, whose commands the recent-command set does not know). */
  constructor(
    readonly fromPosition: number,
    public createdAt = indexClock.now(),
  ) {
    this.toPosition = fromPosition;
  }

  addStream(streamId: string, firstVersion: number, positions: readonly number[]): void {
    const run = this.streams.get(streamId);
    if (!run) {
      // A copy sized to fit: most streams of a busy store get one or two events per memtable, and
      // an array grown by push reserves 17 slots (136 bytes) at the first one.
      this.streams.set(streamId, { firstVersion, positions: positions.slice() });
      this.entries += positions.length;
      return;
    }
    if (run.firstVersion + run.positions.length !== firstVersion) {
      // Appends cannot get here (the planner checks versions); a log whose records, though their
      // checksums hold, skip or repeat versions can, when it is replayed.
      throw new CorruptionError(
        `the log holds version ${firstVersion} of stream '${streamId}' at position ${positions[0]} after version ${run.firstVersion + run.positions.length - 1}`,
      );
    }
    for (const p of positions) run.positions.push(p);
    this.entries += positions.length;
  }

  addCommand(key: Key, positions: readonly number[]): void {
    this.commands.add(key, positions);
    this.entries += positions.length;
  }

  /** Candidate positions of the command with this key, oldest first. */
  command(key: Key): number[] | undefined {
    return this.commands.get(key);
  }

  latest(streamId: string): { version: number; position: number } | undefined {
    const run = this.streams.get(streamId);
    if (!run || run.positions.length === 0) return undefined;
    return { version: run.firstVersion + run.positions.length - 1, position: run.positions[run.positions.length - 1] as number };
  }

  /** The position of one version held here. */
  positionOf(streamId: string, version: number): number | undefined {
    const run = this.streams.get(streamId);
    return run === undefined ? undefined : run.positions[version - run.firstVersion];
  }

  /** Positions of versions [from, to] held here, in version order. */
  range(streamId: string, from: number, to: number): number[] {
    const run = this.streams.get(streamId);
    if (!run) return [];
    const a = Math.max(from, run.firstVersion) - run.firstVersion;
    const b = Math.min(to, run.firstVersion + run.positions.length - 1) - run.firstVersion;
    return a > b ? [] : run.positions.slice(a, b + 1);
  }

  /** Events, streams started (version 1 here) and commands held. */
  counts(): { events: number; streams: number; commands: number } {
    let events = 0;
    let streams = 0;
    for (const run of this.streams.values()) {
      events += run.positions.length;
      if (run.firstVersion === 1) streams++;
    }
    return { events, streams, commands: this.commands.size };
  }

  /** The entries of one kind, keyed, for a segment build. */
  toEntries(kind: SegmentKind): SegmentEntries {
    const n = kind === SEGMENT_KIND_STREAM ? [...this.streams.values()].reduce((a, r) => a + r.positions.length, 0) : this.commands.entries;
    const out: SegmentEntries = { hi: new Uint32Array(n), lo: new Uint32Array(n), seq: new Uint32Array(n), position: new Float64Array(n) };
    let i = 0;
    const put = (hi: number, lo: number, seq: number, position: number) => {
      out.hi[i] = hi;
      out.lo[i] = lo;
      out.seq[i] = seq;
      out.position[i] = position;
      i++;
    };
    if (kind === SEGMENT_KIND_STREAM) {
      for (const [id, run] of this.streams) {
        const k = keyOf(id);
        run.positions.forEach((p, j) => {
          put(k.hi, k.lo, run.firstVersion + j, p);
        });
      }
    } else {
      this.commands.forEach(put);
    }
    return out;
  }
}
