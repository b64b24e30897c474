/**
 * Lookups in the index segments of a store: Bloom filter, then the B+tree, per slot; a slot whose
 * segment is missing or damaged answers by scanning its log range (and is rebuilt in the
 * background by the caller's `rebuild`). Answers are hash-keyed candidates, flat [seq, position]
 * pairs; callers check them against the records (`fieldsAt`).
 */

import type { LogEngine } from '../engine/log-engine.js';
import { withoutRemoved } from '../engine/scavenged-log.js';
import { CorruptionError } from '../errors.js';
import { SEGMENT_KIND_COMMAND, SEGMENT_KIND_STREAM, viewSeq } from '../format/index-layout.js';
import { keyOf } from '../format/key-hash.js';
import { decodeIndexFields } from '../format/record-decode.js';
import type { DamageHandler } from '../log-reader.js';
import { indexedItems, indexedRecords } from './indexed-records.js';
import type { SegmentCatalog, SegmentSlot } from './segment-catalog.js';
import { viewName } from './view-names.js';

export const MAX_SEQ = 0xffffffff;
/** A shared empty answer: a miss allocates nothing. */
const NO_HITS = new Float64Array(0);

export interface IndexFields {
  streamId: string;
  version: number;
  commandId: string | undefined;
  type: string;
}

export interface SegmentSearchOptions {
  engine: LogEngine;
  catalog: SegmentCatalog;
  warn: (message: string) => void;
  /** Told of each damaged record a scan of the log skips. */
  onDamaged: DamageHandler;
  /** Queues the rebuild of a slot found damaged. */
  rebuild: (slot: SegmentSlot) => void;
}

export class SegmentSearch {
  constructor(private readonly o: SegmentSearchOptions) {}

  /** Latest version of a stream in the segments, newest segment first (undefined: none). Segments
   * indexed at or after `skipSince` are skipped: the caller knows the stream is in none of them. */
  latest(streamId: string, skipSince = Number.POSITIVE_INFINITY): { version: number; position: number } | undefined {
    let key: { hi: number; lo: number } | undefined;
    const slots = this.o.catalog.of(SEGMENT_KIND_STREAM);
    for (let i = slots.length - 1; i >= 0; i--) {
      const slot = slots[i] as SegmentSlot;
      if (slot.since >= skipSince) continue;
      key ??= keyOf(streamId);
      // Flat [version, position] pairs of this stream's candidates in the slot, checked below.
      const hits = this.lastInSlot(slot, key, streamId) ?? this.scanSlot(slot, (f) => f.streamId === streamId);
      if (hits.length === 0) continue; // the usual answer for a new stream: allocate nothing
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
  fieldsAt(all: number[]): (IndexFields | undefined)[] {
    if (all.length === 0) return [];
    // Events a scavenge removed have no fields (undefined in their place): no record matches them.
    const positions = withoutRemoved(this.o.engine, all);
    const bytes = positions.length > 0 ? this.o.engine.readFrames(positions) : Buffer.alloc(0);
    const out: (IndexFields | undefined)[] = [];
    let k = 0;
    for (let off = 0; off < bytes.length; off += bytes.readUInt32LE(off)) out.push(decodeIndexFields(bytes, off, positions[k++] as number));
    if (positions.length === all.length) return out;
    const byPosition = new Map(positions.map((p, i) => [p, out[i]]));
    return all.map((p) => byPosition.get(p));
  }

  /** Flat [seq, position] pairs of `key` (the key of stream or command `id`) with from <= seq <= to
   * in one slot: the Bloom filter, then the tree; a broken slot answers by scanning its log range.
   * No callbacks: this runs for every segment of every lookup. */
  range(slot: SegmentSlot, key: { hi: number; lo: number }, id: string, from: number, to: number): Float64Array {
    const r = slot.reader ?? this.o.catalog.readerOf(slot);
    if (!slot.broken && r) {
      try {
        return r.mayContain(key.hi, key.lo) ? r.range(key.hi, key.lo, from, to) : NO_HITS;
      } catch (err) {
        this.markBroken(slot, err);
      }
    }
    if (slot.kind === SEGMENT_KIND_STREAM) return this.scanSlot(slot, (f) => f.streamId === id && f.version >= from && f.version <= to);
    if (slot.kind === SEGMENT_KIND_COMMAND) return this.scanCommands(slot, key, id);
    const kind = slot.kind;
    return this.scanSlot(slot, (f, position) => viewName(kind, f) === id && viewSeq(position) >= from && viewSeq(position) <= to);
  }

  /**
   * Candidate positions of a command's events in the segments, pushed onto `out`: from the newest
   * segment holding its key, or with `everySource` from every one. Segments indexed at or after
   * `skipSince` are skipped (the caller knows the command is in none of them). The newest holder is
   * found through the kind's chain in one step where there is one.
   */
  commandPositions(key: { hi: number; lo: number }, id: string, skipSince: number, everySource: boolean, out: number[]): void {
    const slots = this.o.catalog.of(SEGMENT_KIND_COMMAND);
    let count = slots.length;
    while (count > 0 && (slots[count - 1] as SegmentSlot).since >= skipSince) count--;
    const chain =
      !everySource && count > 0 && !skipsBelow(slots, count, skipSince) ? this.o.catalog.chainOf(SEGMENT_KIND_COMMAND) : undefined;
    if (chain !== undefined) {
      const before = out.length;
      try {
        chain.newestPositions(key.hi, key.lo, 0, MAX_SEQ, count, out);
        return;
      } catch (err) {
        // A damaged page: the search below meets it slot by slot and marks that slot broken.
        if (!(err instanceof CorruptionError)) throw err;
        out.length = before;
      }
    }
    for (let i = count - 1; i >= 0; i--) {
      if ((slots[i] as SegmentSlot).since >= skipSince) continue;
      const hits = this.range(slots[i] as SegmentSlot, key, id, 0, MAX_SEQ);
      if (hits.length === 0) continue;
      for (let k = 1; k < hits.length; k += 2) out.push(hits[k] as number);
      if (!everySource) return;
    }
  }

  /** The stream's newest entry in the slot from its tree (every entry of a colliding key); undefined
   * when the slot is broken, so the caller scans its log range instead. */
  private lastInSlot(slot: SegmentSlot, key: { hi: number; lo: number }, streamId: string): Float64Array | undefined {
    const r = slot.reader ?? this.o.catalog.readerOf(slot);
    if (slot.broken || !r) return undefined;
    try {
      if (!r.mayContain(key.hi, key.lo)) return NO_HITS;
      const last = r.findLast(key.hi, key.lo);
      if (!last) return NO_HITS;
      if (this.fieldsAt([last[1]])[0]?.streamId === streamId) return Float64Array.from(last);
      return r.range(key.hi, key.lo, 0, MAX_SEQ); // a colliding key: check every entry
    } catch (err) {
      this.markBroken(slot, err);
      return undefined;
    }
  }

  /** A segment that failed a lookup with CorruptionError is answered from the log until rebuilt;
   * any other error is the caller's. */
  private markBroken(slot: SegmentSlot, err: unknown): void {
    if (!(err instanceof CorruptionError)) throw err;
    this.o.warn(`${err.message}; answering from the log and rebuilding the segment`);
    this.o.catalog.markBroken(slot, err.message);
    this.o.rebuild(slot);
  }

  /**
   * A command's [ordinal, position] pairs in a broken command slot's log range, the erased commands
   * scavenged chunks keep included (by key, as the rebuilt segment will hold them): without them a
   * retry of an erased command made before the rebuild finishes would find nothing and be written.
   */
  private scanCommands(slot: SegmentSlot, key: { hi: number; lo: number }, id: string): Float64Array {
    const out: number[] = [];
    for (const r of indexedItems(this.o.engine, slot.from, () => slot.to, this.o.onDamaged)) {
      const hit = 'erasedKey' in r ? r.erasedKey.hi === key.hi && r.erasedKey.lo === key.lo : r.fields.commandId === id;
      if (hit) out.push(out.length / 2, r.position);
    }
    return Float64Array.from(out);
  }

  /** Flat [seq, position] pairs of the records in the slot's log range that `match`. */
  private scanSlot(slot: SegmentSlot, match: (f: IndexFields, position: number) => boolean): Float64Array {
    const out: number[] = [];
    for (const { position, fields: f } of indexedRecords(this.o.engine, slot.from, () => slot.to, this.o.onDamaged)) {
      if (!match(f, position)) continue;
      out.push(slot.kind === SEGMENT_KIND_STREAM ? f.version : viewSeq(position), position);
    }
    return Float64Array.from(out);
  }
}

/** Whether any of the `count` oldest slots was indexed at or after `skipSince`: slots are in the
 * order they were indexed, so none is, but a chain lookup (which cannot skip) checks rather than
 * trusts it. */
function skipsBelow(slots: readonly SegmentSlot[], count: number, skipSince: number): boolean {
  if (skipSince === Number.POSITIVE_INFINITY) return false;
  for (let i = 0; i < count; i++) if ((slots[i] as SegmentSlot).since >= skipSince) return true;
  return false;
}
