/**
 * The stream entries of one memtable: for each stream written in its log range, the first version
 * held and the positions of that version and the ones after it (a run: versions of a stream inside
 * one memtable are contiguous, since a memtable covers a contiguous range of the log).
 *
 * Most streams of a busy store get one event per memtable (the bench's 8-in-flight phase leaves
 * ~260k such streams in one), so a run's first position lives in a column and only the rest in a JS
 * array: a stream costs a StreamIdTable slot (the id string is the caller’s), 24 bytes of
 * columns and an 8-byte slot of that array, where an object with a positions array took ~100
 * bytes more of JS heap for the garbage collector to trace.
 */
import { CorruptionError } from '../errors.js';
import { keyOf } from '../format/key-hash.js';
import { compareUtf8 } from '../format/utf8-order.js';
import { ChunkedLists } from './chunked-lists.js';
import { type DirectoryEntry, type DirectoryInput, directoryInputFor } from './directory-backend.js';
import type { SegmentEntries } from './segment-backend.js';
import { type BlockPool, SlotColumn, StreamIdTable } from './stream-id-table.js';

export class StreamRuns {
  /** Never removes an id: slots are 0 .. size - 1. */
  private readonly slots = new StreamIdTable();
  private readonly firstVersion: SlotColumn;
  private readonly count: SlotColumn;
  private readonly firstPosition: SlotColumn;
  /** Positions after the first, for runs of more than one event: 1 + the stream's list in
   * `restLists`, 0 for none (chunked-lists.ts: no JS array per stream). */
  private readonly restList: SlotColumn;
  private readonly restLists: ChunkedLists;
  /** Events held. */
  events = 0;

  constructor(blocks?: BlockPool) {
    this.firstVersion = new SlotColumn(blocks);
    this.count = new SlotColumn(blocks);
    this.firstPosition = new SlotColumn(blocks);
    this.restList = new SlotColumn(blocks);
    this.restLists = new ChunkedLists(blocks);
  }

  /** Gives the column blocks back to their pool (Memtable.release): nothing is read after. */
  release(): void {
    for (const c of [this.firstVersion, this.count, this.firstPosition, this.restList]) c.release();
    this.restLists.release();
  }

  /** Takes over a retired memtable's grown id index (StreamIdTable.adoptIndexOf). */
  adoptIndexOf(other: StreamRuns): void {
    this.slots.adoptIndexOf(other.slots);
  }

  /** Adds `positions`, the positions of versions firstVersion, firstVersion + 1, ... of a stream;
   * returns whether the stream is new here (its id now held). */
  add(streamId: string, firstVersion: number, positions: readonly number[]): boolean {
    if (positions.length === 0) return false;
    const s = this.slots.get(streamId);
    if (s < 0) {
      const added = this.slots.add(streamId);
      this.firstVersion.set(added, firstVersion);
      this.firstPosition.set(added, positions[0] as number);
      this.count.set(added, positions.length);
      this.restList.set(added, 0);
      if (positions.length > 1) this.pushRest(added, positions, 1);
      this.events += positions.length;
      return true;
    }
    const held = this.count.get(s);
    const next = this.firstVersion.get(s) + held;
    if (next !== firstVersion) {
      // Appends cannot get here (the planner checks versions); a log whose records, though their
      // checksums hold, skip or repeat versions can, when it is replayed.
      throw new CorruptionError(
        `the log holds version ${firstVersion} of stream '${streamId}' at position ${positions[0]} after version ${next - 1}`,
      );
    }
    this.pushRest(s, positions, 0);
    this.count.set(s, held + positions.length);
    this.events += positions.length;
    return false;
  }

  /** The stream's newest version held here and its position. */
  latest(streamId: string): { version: number; position: number } | undefined {
    const s = this.slots.get(streamId);
    if (s < 0) return undefined;
    const n = this.count.get(s);
    return { version: this.firstVersion.get(s) + n - 1, position: this.at(s, n - 1) };
  }

  /** The position of one version held here. */
  positionOf(streamId: string, version: number): number | undefined {
    const s = this.slots.get(streamId);
    if (s < 0) return undefined;
    const i = version - this.firstVersion.get(s);
    return i >= 0 && i < this.count.get(s) ? this.at(s, i) : undefined;
  }

  /** Positions of versions [from, to] held here, in version order. */
  range(streamId: string, from: number, to: number): number[] {
    const s = this.slots.get(streamId);
    if (s < 0) return [];
    const first = this.firstVersion.get(s);
    const a = Math.max(from, first) - first;
    const b = Math.min(to, first + this.count.get(s) - 1) - first;
    const out: number[] = [];
    if (a > b) return out;
    if (a === 0) out.push(this.firstPosition.get(s));
    if (b >= 1) this.restLists.read(this.restList.get(s) - 1, Math.max(a, 1) - 1, b - 1, out);
    return out;
  }

  /** Streams whose first version is held here (started in this memtable's range). */
  started(): number {
    let n = 0;
    for (let s = 0; s < this.slots.size; s++) if (this.firstVersion.get(s) === 1) n++;
    return n;
  }

  /** Writes every entry into `out` (arrays of exactly `events` entries) as a segment build takes
   * it: the stream's key, the version as seq, the position. */
  toEntries(out: SegmentEntries): SegmentEntries {
    let k = 0;
    for (let s = 0; s < this.slots.size; s++) {
      const key = keyOf(this.slots.idAt(s) as string);
      const first = this.firstVersion.get(s);
      for (let i = 0, n = this.count.get(s); i < n; i++, k++) {
        out.hi[k] = key.hi;
        out.lo[k] = key.lo;
        out.seq[k] = first + i;
        out.position[k] = this.at(s, i);
      }
    }
    if (k !== out.hi.length) throw new Error(`stream runs yielded ${k} entries of ${out.hi.length}`);
    return out;
  }

  /**
   * Up to `limit` streams held here with an id above `after` (undefined: from the first) in UTF-8
   * byte order, and starting with `prefix` when given: what a listing needs of this memtable. The
   * ids are sorted when first asked for, and the ones added since merged in at each later ask.
   */
  page(after: string | undefined, prefix: string | undefined, limit: number): DirectoryEntry[] {
    this.sortNew();
    const order = this.sorted;
    const start = after !== undefined && (prefix === undefined || compareUtf8(after, prefix) >= 0) ? after : prefix;
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const id = this.slots.idAt(order[mid] as number) as string;
      if (start !== undefined && (after === start ? compareUtf8(id, start) <= 0 : compareUtf8(id, start) < 0)) lo = mid + 1;
      else hi = mid;
    }
    const out: DirectoryEntry[] = [];
    for (let k = lo; k < order.length && out.length < limit; k++) {
      const s = order[k] as number;
      const streamId = this.slots.idAt(s) as string;
      if (prefix !== undefined && !streamId.startsWith(prefix)) break;
      const count = this.count.get(s);
      const firstVersion = this.firstVersion.get(s);
      out.push({
        streamId,
        firstVersion,
        lastVersion: firstVersion + count - 1,
        firstPosition: this.firstPosition.get(s),
        lastPosition: this.at(s, count - 1),
      });
    }
    return out;
  }

  /**
   * Every stream held here as a directory build takes it (directory-backend.ts: any order, the
   * build sorts), written straight into its arrays in slot order: an object per stream here lived
   * through the build's young-generation collections and was garbage of the old generation after
   * it, the largest part of what a memtable left behind.
   */
  toDirectoryInput(): DirectoryInput {
    const n = this.slots.size;
    let bytes = 0;
    for (let s = 0; s < n; s++) bytes += Buffer.byteLength(this.slots.idAt(s) as string, 'utf8');
    const input = directoryInputFor(n, Buffer.allocUnsafe(bytes));
    let end = 0;
    for (let s = 0; s < n; s++) {
      end += input.ids.write(this.slots.idAt(s) as string, end, 'utf8');
      const count = this.count.get(s);
      const firstVersion = this.firstVersion.get(s);
      input.idEnds[s] = end;
      input.firstVersion[s] = firstVersion;
      input.lastVersion[s] = firstVersion + count - 1;
      input.firstPosition[s] = this.firstPosition.get(s);
      input.lastPosition[s] = this.at(s, count - 1);
    }
    return input;
  }

  /** Slots in UTF-8 order of their ids, the first `sorted.length` slots (sortNew). */
  private sorted: number[] = [];

  private sortNew(): void {
    const from = this.sorted.length;
    if (from === this.slots.size) return;
    const byId = (x: number, y: number) => compareUtf8(this.slots.idAt(x) as string, this.slots.idAt(y) as string);
    const fresh = Array.from({ length: this.slots.size - from }, (_, i) => from + i).sort(byId);
    const merged: number[] = [];
    let i = 0;
    let j = 0;
    while (i < this.sorted.length || j < fresh.length) {
      if (j === fresh.length || (i < this.sorted.length && byId(this.sorted[i] as number, fresh[j] as number) < 0))
        merged.push(this.sorted[i++] as number);
      else merged.push(fresh[j++] as number);
    }
    this.sorted = merged;
  }

  private at(s: number, i: number): number {
    return i === 0 ? this.firstPosition.get(s) : this.restLists.at(this.restList.get(s) - 1, i - 1);
  }

  /** Appends positions[from..] to stream slot s's positions after its first. */
  private pushRest(s: number, positions: readonly number[], from: number): void {
    let list = this.restList.get(s) - 1;
    if (list < 0) {
      list = this.restLists.create();
      this.restList.set(s, list + 1);
    }
    for (let k = from; k < positions.length; k++) this.restLists.push(list, positions[k] as number);
  }
}
