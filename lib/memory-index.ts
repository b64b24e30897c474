/**
 * In-memory dictionaries of the store: every stream's event positions (so its latest version is the
 * array's length) and every command's appends. Rebuilt at open by one scan of the log.
 *
 * This is the whole index until the on-disk index segments (B+tree + Bloom filter) take over the
 * old entries and these become the recent-entries dictionaries with time-based eviction.
 */
import type { AppendResult } from './errors.js';

export class StreamIndex {
  private readonly positions = new Map<string, number[]>();
  private events = 0;

  /** Latest written version (0 for a stream with no events). */
  version(streamId: string): number {
    return this.positions.get(streamId)?.length ?? 0;
  }

  /** Latest version among events below `visibleEnd`. */
  visibleVersion(streamId: string, visibleEnd: number): number {
    const p = this.positions.get(streamId);
    if (!p) return 0;
    let n = p.length;
    while (n > 0 && (p[n - 1] as number) >= visibleEnd) n--;
    return n;
  }

  lastPosition(streamId: string): number {
    const p = this.positions.get(streamId);
    return p && p.length > 0 ? (p[p.length - 1] as number) : 0;
  }

  /** Positions of versions [from, to] (1-based, inclusive), clipped to what exists. */
  range(streamId: string, from: number, to: number): number[] {
    const p = this.positions.get(streamId);
    if (!p) return [];
    return p.slice(Math.max(0, from - 1), Math.min(p.length, to));
  }

  add(streamId: string, version: number, position: number): void {
    let p = this.positions.get(streamId);
    if (!p) {
      p = [];
      this.positions.set(streamId, p);
    }
    if (version !== p.length + 1) {
      throw new Error(`index out of order for '${streamId}': version ${version} after ${p.length}`);
    }
    p.push(position);
    this.events++;
  }

  get streamCount(): number {
    return this.positions.size;
  }
  get eventCount(): number {
    return this.events;
  }
}

export interface CommandEntry {
  results: AppendResult[];
  positions: number[];
}

export class CommandIndex {
  private readonly commands = new Map<string, CommandEntry>();

  get(commandId: string): CommandEntry | undefined {
    return this.commands.get(commandId);
  }

  has(commandId: string): boolean {
    return this.commands.has(commandId);
  }

  /** Records `count` consecutive events of one stream appended under `commandId`. */
  add(commandId: string, result: AppendResult, positions: number[]): void {
    let e = this.commands.get(commandId);
    if (!e) {
      e = { results: [], positions: [] };
      this.commands.set(commandId, e);
    }
    e.results.push(result);
    for (const p of positions) e.positions.push(p);
  }

  /** Rebuild path: one event at a time, merged into the result of the append it belongs to. */
  addEvent(commandId: string, streamId: string, version: number, position: number): void {
    const e = this.commands.get(commandId);
    const last = e?.results[e.results.length - 1];
    if (e && last && last.streamId === streamId && last.lastVersion + 1 === version && last.position < position) {
      last.lastVersion = version;
      last.position = position;
      e.positions.push(position);
      return;
    }
    this.add(commandId, { streamId, firstVersion: version, lastVersion: version, position, commandId }, [position]);
  }

  get size(): number {
    return this.commands.size;
  }
}
