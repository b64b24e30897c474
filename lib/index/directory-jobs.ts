/**
 * Background work on the stream directory (stream-directory.ts), run on the index's job queue:
 * building a memtable's directory file with its segments, merging when the chain grows past the
 * segments' bound, and building a slot from its log range (a missing or damaged file, one not
 * built yet in an older store, or one a scavenge rewrote under). Reading a log range yields to the
 * event loop every few thousand records, as segment rebuilds do.
 *
 * Bound: a slot may cover most of the log, and so most of the store's streams. Its rebuild holds
 * at most `maxWeight` of them at once (directoryWeight: what a memtable of the memory budget holds,
 * long ids counting for more): past it, the log range is built in parts (each a valid directory
 * file of its own sub-range, named as such, so a crash between leaves a chain the next open
 * accepts), merged into the slot's file page by page (both backends merge streaming), the parts
 * removed after.
 */
import path from 'node:path';

import type { LogEngine } from '../engine/log-engine.js';
import { directoryFileName } from '../format/directory-layout.js';
import { compareUtf8 } from '../format/utf8-order.js';
import { removeFile } from '../fs-durable.js';
import type { DamageHandler } from '../log-reader.js';
import { BYTES_PER_ENTRY, extraIdBytes } from '../memory-budget.js';
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

/** Test seam: the most stream entries one rebuild, patch or listing scan of a slot held at once. */
export const directoryRebuilds = { mostHeld: 0 };

/** Memtable entries (memory-budget.ts) one stream's directory entry is counted as, while a rebuild
 * or a patch holds it: the entry object, its id and its slot in the build's arrays. */
const DIRECTORY_ENTRY_WEIGHT = 4;

/** What holding the directory entry of `streamId` counts against a rebuild's or patch's bound. */
export function directoryWeight(streamId: string): number {
  return DIRECTORY_ENTRY_WEIGHT + extraIdBytes(streamId) / BYTES_PER_ENTRY.memtables;
}

/** Builds a broken slot's file from its log range, holding at most `maxWeight` of its streams'
 * entries at once (see the file's comment). */
export async function rebuildDirectorySlot(
  directory: StreamDirectory,
  slot: DirectorySlot,
  engine: LogEngine,
  onDamaged: DamageHandler,
  maxWeight = Number.POSITIVE_INFINITY,
): Promise<void> {
  const { backend, dir } = directory;
  const parts: string[] = [];
  try {
    for (let from = slot.from; from < slot.to || parts.length === 0; ) {
      const { entries, to } = await streamsOfRangeUpTo(engine, from, slot.to, onDamaged, maxWeight);
      directoryRebuilds.mostHeld = Math.max(directoryRebuilds.mostHeld, entries.length);
      const name = directoryFileName(from, to);
      await backend.build(dir, name, { fromPosition: from, toPosition: to }, directoryInputOf(entries));
      parts.push(name);
      from = to;
    }
    if (parts.length > 1) {
      const readers = parts.map((name) => backend.open(path.join(dir, name)));
      try {
        await backend.merge(dir, slot.name, { fromPosition: slot.from, toPosition: slot.to }, readers);
      } finally {
        for (const r of readers) r.close();
      }
    }
    directory.replace([slot], slot.name);
  } finally {
    for (const name of parts) if (name !== slot.name) removeFile(path.join(dir, name));
  }
}

/**
 * What a listing reads of a slot with no file (stream-listing.ts): every stream of its log range
 * when they weigh at most `maxWeight` (`whole`: kept for the next pages until the slot is built),
 * else only the page's: the first `take` ids past `after` with `prefix`, the range read again for
 * each page. An id is among the first `take` from its first record on or never (ids only leave the
 * page's set, for smaller ones), so each kept entry's first version and position are exact.
 */
export async function streamsOfSlotForPage(
  engine: LogEngine,
  slot: { from: number; to: number },
  onDamaged: DamageHandler,
  q: { after?: string; prefix?: string; take: number },
  maxWeight = Number.POSITIVE_INFINITY,
): Promise<{ entries: DirectoryEntry[]; whole: boolean }> {
  const all = await streamsOfRangeUpTo(engine, slot.from, slot.to, onDamaged, maxWeight);
  directoryRebuilds.mostHeld = Math.max(directoryRebuilds.mostHeld, all.entries.length);
  if (all.to === slot.to) return { entries: all.entries, whole: true };
  const page = new Map<string, DirectoryEntry>();
  const ids: string[] = []; // the page's ids, in order
  let n = 0;
  for (const { position, fields: f } of indexedRecords(engine, slot.from, () => slot.to, onDamaged)) {
    if (++n % YIELD_EVERY_RECORDS === 0) await new Promise((r) => setImmediate(r));
    const id = f.streamId;
    const e = page.get(id);
    if (e !== undefined) {
      e.lastVersion = f.version;
      e.lastPosition = position;
      continue;
    }
    if ((q.after !== undefined && compareUtf8(id, q.after) <= 0) || (q.prefix !== undefined && !id.startsWith(q.prefix))) continue;
    if (ids.length === q.take && compareUtf8(id, ids[ids.length - 1] as string) > 0) continue;
    let lo = 0;
    for (let hi = ids.length; lo < hi; ) {
      const mid = (lo + hi) >>> 1;
      if (compareUtf8(ids[mid] as string, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    ids.splice(lo, 0, id);
    page.set(id, { streamId: id, firstVersion: f.version, lastVersion: f.version, firstPosition: position, lastPosition: position });
    if (ids.length > q.take) page.delete(ids.pop() as string);
  }
  directoryRebuilds.mostHeld = Math.max(directoryRebuilds.mostHeld, ids.length);
  return { entries: ids.map((id) => page.get(id) as DirectoryEntry), whole: false };
}

/** The streams of the log range from `from`, in id order, up to `to` or to the first record (at
 * least the second) whose stream would take their weight past `maxWeight`: `to` is where they end. */
async function streamsOfRangeUpTo(
  engine: LogEngine,
  from: number,
  to: number,
  onDamaged: DamageHandler,
  maxWeight: number,
): Promise<{ entries: DirectoryEntry[]; to: number }> {
  const streams = new Map<string, DirectoryEntry>();
  let n = 0;
  let weight = 0;
  let end = to;
  for (const { position, fields: f } of indexedRecords(engine, from, () => to, onDamaged)) {
    if (++n % YIELD_EVERY_RECORDS === 0) await new Promise((r) => setImmediate(r));
    const e = streams.get(f.streamId);
    if (e === undefined) {
      weight += directoryWeight(f.streamId);
      if (weight > maxWeight && streams.size > 0) {
        end = position;
        break;
      }
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
  return { entries: [...streams.values()].sort((a, b) => compareUtf8(a.streamId, b.streamId)), to: end };
}
