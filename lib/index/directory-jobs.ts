/**
 * Background work on the stream directory (stream-directory.ts), run on the index's job queue:
 * building a memtable's directory file with its segments, merging when the chain grows past the
 * segments' bound, and building a slot from its log range (a missing or damaged file, or one not
 * built yet in an older store). Reading a log range yields to the event loop every few thousand
 * records, as segment rebuilds do.
 */

import type { LogEngine } from '../engine/log-engine.js';
import { directoryFileName } from '../format/directory-layout.js';
import { compareUtf8 } from '../format/utf8-order.js';
import type { DamageHandler } from '../log-reader.js';
import { type DirectoryEntry, directoryInputOf } from './directory-backend.js';
import { indexedRecords } from './indexed-records.js';
import type { Memtable } from './memtable.js';
import type { DirectorySlot, StreamDirectory } from './stream-directory.js';

const YIELD_EVERY_RECORDS = 8192;

/** Builds the directory file of the log range from the directory's coverage to `m`'s end; the
 * caller swaps it in (StreamDirectory.append) with the memtable's segments, in one step. */
export async function buildMemtableDirectory(directory: StreamDirectory, m: Memtable): Promise<{ name: string; from: number }> {
  const from = directory.coverage();
  const name = directoryFileName(from, m.toPosition);
  await directory.backend.build(directory.dir, name, { fromPosition: from, toPosition: m.toPosition }, m.streams.toDirectoryInput());
  return { name, from };
}

/** Merges the oldest files once the chain is longer than `max` (as segments merge). */
export async function mergeDirectoryIfNeeded(directory: StreamDirectory, max: number): Promise<void> {
  const { chain } = directory;
  if (chain.length <= max) return;
  const inputs = chain.slice(0, chain.length - Math.floor(max / 2));
  if (inputs.some((s) => !directory.readerOf(s))) return; // after the rebuild
  const from = (inputs[0] as DirectorySlot).from;
  const to = (inputs[inputs.length - 1] as DirectorySlot).to;
  const name = directoryFileName(from, to);
  const readers = inputs.map((s) => s.reader as NonNullable<DirectorySlot['reader']>);
  await directory.backend.merge(directory.dir, name, { fromPosition: from, toPosition: to }, readers);
  directory.replace(inputs, name);
}

/** Builds a broken slot's file from its log range. */
export async function rebuildDirectorySlot(
  directory: StreamDirectory,
  slot: DirectorySlot,
  engine: LogEngine,
  onDamaged: DamageHandler,
): Promise<void> {
  const entries = await streamsOfRange(engine, slot.from, slot.to, onDamaged);
  const name = directoryFileName(slot.from, slot.to);
  await directory.backend.build(directory.dir, name, { fromPosition: slot.from, toPosition: slot.to }, directoryInputOf(entries));
  directory.replace([slot], name);
}

/** The streams of a log range, in id order (UTF-8 bytes), with their first and last versions and
 * positions there. */
export async function streamsOfRange(engine: LogEngine, from: number, to: number, onDamaged: DamageHandler): Promise<DirectoryEntry[]> {
  const streams = new Map<string, DirectoryEntry>();
  let n = 0;
  for (const { position, fields: f } of indexedRecords(engine, from, () => to, onDamaged)) {
    if (++n % YIELD_EVERY_RECORDS === 0) await new Promise((r) => setImmediate(r));
    const e = streams.get(f.streamId);
    if (e === undefined) {
      streams.set(f.streamId, {
        streamId: f.streamId,
        firstVersion: f.version,
        lastVersion: f.version,
        firstPosition: position,
        lastPosition: position,
      });
    } else {
      e.lastVersion = f.version;
      e.lastPosition = position;
    }
  }
  return [...streams.values()].sort((a, b) => compareUtf8(a.streamId, b.streamId));
}
