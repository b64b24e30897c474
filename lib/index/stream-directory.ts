/**
 * The stream directory files of a store's `index/` directory (`directory-<from>-<to>.dir`, format
 * in lib/format/directory-layout.ts): each lists the streams written in its log range in id order,
 * with their first and last versions and positions there. Like the segment catalog, one chain
 * covers the log from its start without gaps; it is built at each memtable freeze with the
 * segments, merged when it grows past the segments' bound, and a slot that is missing or damaged
 * (or not built yet, in a store written before directories existed) is a hole: a listing over it
 * reads its log range (once, kept until the slot is built) and a background job builds it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError } from '../errors.js';
import { directoryFileName } from '../format/directory-layout.js';
import { CHUNK_HEADER_SIZE } from '../format/layout.js';
import { removeFile } from '../fs-durable.js';
import type { DirectoryBackend, DirectoryEntry, DirectoryReader } from './directory-backend.js';
import { NOT_BUILT_YET } from './segment-catalog.js';

export interface DirectorySlot {
  from: number;
  to: number;
  name: string;
  reader?: DirectoryReader;
  /** Why the slot has no usable file. */
  broken?: string;
  /** A broken slot's streams read from its log range, in id order (kept until it is built), when
   * they fit a memtable's bound (directory-jobs.ts, streamsOfSlotForPage). */
  scanned?: DirectoryEntry[];
}

const NAME = /^directory-([0-9a-f]{12})-([0-9a-f]{12})\.dir$/;

export class StreamDirectory {
  readonly chain: DirectorySlot[] = [];
  /** Called when a file opened on demand is unreadable (it is marked broken first). */
  onBroken: (slot: DirectorySlot) => void = () => {};

  private constructor(
    readonly dir: string,
    readonly backend: DirectoryBackend,
    private readonly warn: (message: string) => void,
  ) {}

  /**
   * Reads the directory's file names. `coverTo`: where the segment chains end; a directory chain
   * that ends before it is filled with slots not built yet, one per chunk.
   */
  static load(
    dir: string,
    backend: DirectoryBackend,
    o: { logEnd: number; coverTo: number; chunkSize: number; writable: boolean },
    warn: (message: string) => void,
  ): StreamDirectory {
    const d = new StreamDirectory(dir, backend, warn);
    const files = (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
      .map((name) => ({ name, m: NAME.exec(name) }))
      .filter((c) => c.m)
      .map((c) => ({ name: c.name, from: Number.parseInt(c.m?.[1] ?? '', 16), to: Number.parseInt(c.m?.[2] ?? '', 16) }))
      .sort((a, b) => a.from - b.from || b.to - a.to);
    let expect = CHUNK_HEADER_SIZE;
    for (const f of files) {
      if (f.from < expect) {
        if (o.writable) removeFile(path.join(dir, f.name)); // covered by a merge
        continue;
      }
      if (f.to > o.logEnd) {
        if (o.writable)
          throw new CorruptionError(
            `stream directory ${f.name} covers the log up to ${f.to}, past its end ${o.logEnd}: log data is missing`,
          );
        continue;
      }
      if (f.from > expect) d.chain.push({ from: expect, to: f.from, name: directoryFileName(expect, f.from), broken: 'missing' });
      d.chain.push({ from: f.from, to: f.to, name: f.name });
      expect = f.to;
    }
    for (let from = d.coverage(); from < o.coverTo; ) {
      const to = Math.min(o.coverTo, (Math.floor(from / o.chunkSize) + 1) * o.chunkSize + CHUNK_HEADER_SIZE);
      d.chain.push({ from, to, name: directoryFileName(from, to), broken: NOT_BUILT_YET });
      from = to;
    }
    return d;
  }

  coverage(): number {
    return this.chain.length > 0 ? (this.chain[this.chain.length - 1] as DirectorySlot).to : CHUNK_HEADER_SIZE;
  }

  /** The slot's reader, opening the file on first use; undefined when the slot is broken. */
  readerOf(slot: DirectorySlot): DirectoryReader | undefined {
    if (slot.reader || slot.broken) return slot.reader;
    try {
      const reader = this.backend.open(path.join(this.dir, slot.name));
      if (reader.header.fromPosition !== slot.from || reader.header.toPosition !== slot.to) {
        reader.close();
        throw new CorruptionError('its header does not match its name');
      }
      slot.reader = reader;
      return reader;
    } catch (err) {
      const message = `stream directory ${slot.name} is unreadable and will be rebuilt from the log: ${(err as Error).message}`;
      this.warn(message);
      slot.broken = message;
      this.onBroken(slot);
      return undefined;
    }
  }

  /** A slot whose file failed a read: warned about, answered from the log, rebuilt (onBroken). */
  markBroken(slot: DirectorySlot, reason: string): void {
    if (slot.broken) return;
    this.warn(`stream directory ${slot.name}: ${reason}; listing from the log and rebuilding it`);
    slot.broken = reason;
    this.onBroken(slot);
  }

  append(name: string, from: number, to: number): void {
    this.chain.push({ from, to, name, reader: this.backend.open(path.join(this.dir, name)) });
  }

  /** Puts the file `name` in place of the consecutive slots `old` (a merge or a rebuild). */
  replace(old: DirectorySlot[], name: string): void {
    const first = this.chain.indexOf(old[0] as DirectorySlot);
    if (first < 0 || old.some((s, i) => this.chain[first + i] !== s))
      throw new CorruptionError('index: replaced directory slots are not in the chain');
    const from = (old[0] as DirectorySlot).from;
    const to = (old[old.length - 1] as DirectorySlot).to;
    const reader = this.backend.open(path.join(this.dir, name));
    this.chain.splice(first, old.length, { from, to, name, reader });
    for (const s of old) {
      s.reader?.close();
      if (s.name !== name) removeFile(path.join(this.dir, s.name));
    }
  }

  close(): void {
    for (const s of this.chain) s.reader?.close();
    this.chain.length = 0;
  }
}
