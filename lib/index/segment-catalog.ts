/**
 * The segment files of a store's `index/` directory, per kind, as an ordered chain of slots that
 * covers the log from its first position up to `coverage(kind)` without gaps. A slot either has a
 * reader or is broken (a missing or damaged segment): lookups over a broken slot fall back to
 * scanning its log range, and the StoreIndex rebuilds it in the background.
 *
 * Loading reads the directory only: a segment is opened (header read and checked against its
 * name, file mapped) by the first lookup that needs it (`readerOf`), so opening a store costs the
 * same at any size. A segment that turns out unreadable then is marked broken and handed to
 * `onBroken` (the StoreIndex rebuilds it), exactly as one found damaged by a lookup.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnnalsError, CorruptionError } from '../errors.js';
import {
  SEGMENT_KIND_CATEGORY,
  SEGMENT_KIND_COMMAND,
  SEGMENT_KIND_NAMES,
  SEGMENT_KIND_STREAM,
  SEGMENT_KIND_TYPE,
  type SegmentKind,
  segmentFileName,
} from '../format/index-layout.js';
import { CHUNK_HEADER_SIZE } from '../format/layout.js';
import { removeFile } from '../fs-durable.js';
import type { SegmentBackend, SegmentChain, SegmentReader } from './segment-backend.js';

export interface SegmentSlot {
  kind: SegmentKind;
  from: number;
  to: number;
  name: string;
  /**
   * Every entry of the segment was added to the index at or after this time (index clock): the
   * creation of the memtable it was built from, the earliest of a merge's inputs; -Infinity for a
   * segment found at open or built from a memtable replayed then. Lookups of a key the
   * dictionaries have not seen since their `keptSince` skip segments indexed since then.
   */
  since: number;
  /** Set once the segment is open (SegmentCatalog.readerOf). */
  reader?: SegmentReader;
  /** Why the slot has no usable reader. */
  broken?: string;
}

/** The `broken` reason of a slot of a kind the store had no segments of yet (fillBehind). */
export const NOT_BUILT_YET = 'not built yet';

export const KINDS: SegmentKind[] = [SEGMENT_KIND_STREAM, SEGMENT_KIND_COMMAND, SEGMENT_KIND_CATEGORY, SEGMENT_KIND_TYPE];
const NAME = /^(stream|command|category|type)-([0-9a-f]{12})-([0-9a-f]{12})\.seg$/;

export class SegmentCatalog {
  /** Each kind's chain, indexed by kind (an array, not a Map: every lookup asks for one). */
  private readonly slots: SegmentSlot[][] = [];
  /** Each kind's chain (chainOf): undefined until asked for since the kind's slots last changed,
   * null while the kind has none (a slot without a reader, no slots, or a backend without chains). */
  private readonly chains: (SegmentChain | null | undefined)[] = [];
  /** Called when a segment opened on demand is unreadable (it is marked broken first). */
  onBroken: (slot: SegmentSlot) => void = () => {};

  private constructor(
    readonly dir: string,
    readonly backend: SegmentBackend,
    private readonly warn: (msg: string) => void,
  ) {
    for (const kind of KINDS) this.slots[kind] = [];
  }

  static load(
    dir: string,
    backend: SegmentBackend,
    logEnd: number,
    chunkSize: number,
    writable: boolean,
    warn: (msg: string) => void,
  ): SegmentCatalog {
    const catalog = new SegmentCatalog(dir, backend, warn);
    const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    const discard = (name: string) => {
      if (writable) removeFile(path.join(dir, name));
    };
    for (const name of names) if (name.endsWith('.tmp')) discard(name);
    for (const kind of KINDS) {
      const candidates = names
        .map((name) => ({ name, m: NAME.exec(name) }))
        .filter((c) => c.m && c.m[1] === SEGMENT_KIND_NAMES[kind])
        .map((c) => ({ name: c.name, from: Number.parseInt(c.m?.[2] ?? '', 16), to: Number.parseInt(c.m?.[3] ?? '', 16) }))
        .sort((a, b) => a.from - b.from || b.to - a.to);
      const chain = catalog.of(kind) as SegmentSlot[];
      let expect = CHUNK_HEADER_SIZE;
      for (const c of candidates) {
        if (c.from < expect) {
          discard(c.name); // covered by a merged segment
          continue;
        }
        if (c.to > logEnd) {
          // Segments are built from durable records only: one past the log's end means log data is
          // missing, which must not be made silent by deleting the evidence (log-completeness.ts).
          if (writable)
            throw new CorruptionError(`index segment ${c.name} covers the log up to ${c.to}, past its end ${logEnd}: log data is missing`);
          continue;
        }
        if (c.from > expect) {
          const name = segmentFileName(kind, expect, c.from);
          chain.push({ kind, from: expect, to: c.from, name, since: Number.NEGATIVE_INFINITY, broken: 'missing' });
        }
        chain.push({ kind, from: c.from, to: c.to, name: c.name, since: Number.NEGATIVE_INFINITY });
        expect = c.to;
      }
    }
    catalog.fillBehind(chunkSize);
    return catalog;
  }

  /**
   * A kind whose chain ends before the others' (the read models' kinds, in a store written before
   * they existed) gets the range up to the furthest coverage as missing slots, one per chunk: the
   * open replays no more than before, a background job builds each slot in turn, and lookups over
   * a slot not built yet answer from the log.
   */
  private fillBehind(chunkSize: number): void {
    const furthest = Math.max(...KINDS.map((k) => this.coverage(k)));
    for (const kind of KINDS) {
      const chain = this.slots[kind] as SegmentSlot[];
      for (let from = this.coverage(kind); from < furthest; ) {
        const to = Math.min(furthest, (Math.floor(from / chunkSize) + 1) * chunkSize + CHUNK_HEADER_SIZE);
        chain.push({ kind, from, to, name: segmentFileName(kind, from, to), since: Number.NEGATIVE_INFINITY, broken: NOT_BUILT_YET });
        from = to;
      }
    }
  }

  /**
   * The slot's reader, opening the segment on first use; undefined when the slot is broken,
   * including by this open failing (then warned about and passed to onBroken).
   */
  readerOf(slot: SegmentSlot): SegmentReader | undefined {
    if (slot.reader || slot.broken) return slot.reader;
    try {
      const reader = this.backend.open(path.join(this.dir, slot.name));
      const h = reader.header;
      if (h.kind !== slot.kind || h.fromPosition !== slot.from || h.toPosition !== slot.to) {
        reader.close();
        throw new CorruptionError('its header does not match its name');
      }
      slot.reader = reader;
      return reader;
    } catch (err) {
      const message = `index segment ${slot.name} is unreadable and will be rebuilt from the log: ${(err as Error).message}`;
      this.warn(message);
      this.markBroken(slot, message);
      this.onBroken(slot);
      return undefined;
    }
  }

  /** The kind's slots as one chain for one-step lookups (SegmentChain, index i the slot of(kind)[i]),
   * opening every segment; undefined when a slot is broken or the backend has no chains. Kept until
   * the kind's slots change. */
  chainOf(kind: SegmentKind): SegmentChain | undefined {
    let chain = this.chains[kind];
    if (chain === undefined) {
      // null when a slot is broken: kept until the rebuild replaces it (a change).
      chain = this.newChain(kind);
      this.chains[kind] = chain;
    }
    return chain ?? undefined;
  }

  private newChain(kind: SegmentKind): SegmentChain | null {
    const slots = this.of(kind);
    if (!this.backend.chain || slots.length === 0) return null;
    const readers: SegmentReader[] = [];
    for (const s of slots) {
      // A slot marked broken by a lookup keeps its reader: the chain would meet its damage again.
      const r = s.broken === undefined ? this.readerOf(s) : undefined;
      if (!r) return null;
      readers.push(r);
    }
    try {
      return this.backend.chain(readers);
    } catch (err) {
      // A damaged Bloom filter (the chain checks each one's CRC): lookups go slot by slot, and the
      // one that meets the damage marks its slot broken, which changes the slots.
      if (err instanceof CorruptionError) return null;
      throw err;
    }
  }

  /** The kind's slots changed: its chain, if any, no longer matches them. */
  private changed(kind: SegmentKind): void {
    this.chains[kind]?.close();
    this.chains[kind] = undefined;
  }

  /** Slots of a kind, oldest first. */
  of(kind: SegmentKind): readonly SegmentSlot[] {
    return this.slots[kind] as SegmentSlot[];
  }

  /** End of the log range the kind's chain covers. */
  coverage(kind: SegmentKind): number {
    const chain = this.of(kind);
    return chain.length > 0 ? (chain[chain.length - 1] as SegmentSlot).to : CHUNK_HEADER_SIZE;
  }

  /** Opens `dir/name` and appends it to the chain; `since`: see SegmentSlot. */
  append(kind: SegmentKind, name: string, from: number, to: number, since: number): void {
    const reader = this.backend.open(path.join(this.dir, name));
    (this.slots[kind] as SegmentSlot[]).push({ kind, from, to, name, since, reader });
    this.changed(kind);
  }

  /** Puts the segment `name` in place of the consecutive slots `old` (a merge or a rebuild). */
  replace(kind: SegmentKind, old: SegmentSlot[], name: string): void {
    const chain = this.slots[kind] as SegmentSlot[];
    const first = chain.indexOf(old[0] as SegmentSlot);
    if (first < 0 || old.some((s, i) => chain[first + i] !== s)) throw new AnnalsError('IO', 'index: replaced slots are not in the chain');
    const from = (old[0] as SegmentSlot).from;
    const to = (old[old.length - 1] as SegmentSlot).to;
    const reader = this.backend.open(path.join(this.dir, name));
    const since = Math.min(...old.map((s) => s.since));
    chain.splice(first, old.length, { kind, from, to, name, since, reader });
    this.changed(kind);
    for (const s of old) {
      s.reader?.close();
      if (s.name !== name) removeFile(path.join(this.dir, s.name));
    }
  }

  markBroken(slot: SegmentSlot, reason: string): void {
    slot.broken = reason;
    this.changed(slot.kind);
  }

  close(): void {
    for (const kind of KINDS) {
      this.changed(kind);
      const chain = this.slots[kind] as SegmentSlot[];
      for (const s of chain) s.reader?.close();
      chain.length = 0;
    }
  }
}
