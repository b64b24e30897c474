/**
 * A stream directory file patched after a scavenge instead of rebuilt from the log: a scavenge
 * removes events only of streams with rules, and it has seen every surviving event of those
 * streams in the chunks it examined, so a file whose range starts inside them is its old entries with
 * those streams' first and last survivors put in (an entry with none left is dropped: the erased
 * stream's id leaves the file). A file it cannot patch is rebuilt from the log (directory-jobs.ts).
 *
 * Bound: the patched file is built from its entries held at once, so a file of more streams than
 * `maxWeight` allows (directoryWeight: what a memtable of the memory budget holds) is not patched
 * but rebuilt from the log, in parts within the same bound.
 */
import { directoryFileName } from '../format/directory-layout.js';
import { type DirectoryEntry, directoryInputOf } from './directory-backend.js';
import { directoryRebuilds, directoryWeight } from './directory-jobs.js';
import type { DirectorySlot, StreamDirectory } from './stream-directory.js';

/** What a scavenge saw: the log range it examined whole, and the surviving events of each stream
 * with rules, flat [position, version] pairs ascending by position. */
export interface KnownSurvivors {
  from: number;
  to: number;
  of(streamId: string): number[] | undefined;
}

const PAGE = 10_000;

/** Patches the slot's file; false when it cannot (the caller rebuilds it from the log). */
export async function patchDirectorySlot(
  directory: StreamDirectory,
  slot: DirectorySlot,
  known: KnownSurvivors,
  maxWeight = Number.POSITIVE_INFINITY,
): Promise<boolean> {
  if (slot.from < known.from || slot.from >= known.to) return false;
  const reader = directory.readerOf(slot);
  if (!reader) return false;
  const entries: DirectoryEntry[] = [];
  let weight = 0;
  for (
    let after: string | undefined, page = reader.page(undefined, undefined, PAGE);
    page.length > 0;
    page = reader.page(after, undefined, PAGE)
  ) {
    for (const e of page) {
      weight += directoryWeight(e.streamId);
      if (weight > maxWeight) return false;
      const pairs = known.of(e.streamId);
      if (!pairs || e.firstPosition >= known.to) entries.push(e);
      else {
        const patched = patchEntry(e, pairs, slot.from, slot.to, known.to);
        if (patched === false) return false;
        if (patched) entries.push(patched);
      }
    }
    after = (page[page.length - 1] as DirectoryEntry).streamId;
    if (page.length < PAGE) break;
  }
  directoryRebuilds.mostHeld = Math.max(directoryRebuilds.mostHeld, entries.length);
  const name = directoryFileName(slot.from, slot.to);
  await directory.backend.build(directory.dir, name, { fromPosition: slot.from, toPosition: slot.to }, directoryInputOf(entries));
  directory.replace([slot], name);
  return true;
}

/**
 * A stream's entry with its survivors put in. The part of the slot past `examinedTo` (the tail,
 * which no scavenge touches) is unchanged: an entry whose last event lies there keeps it; one with
 * no survivor before it would need its first event there, which only the log knows (false).
 */
function patchEntry(e: DirectoryEntry, pairs: number[], from: number, to: number, examinedTo: number): DirectoryEntry | undefined | false {
  if (e.lastPosition < examinedTo) return survivorsIn(e.streamId, pairs, from, to);
  const before = survivorsIn(e.streamId, pairs, from, examinedTo);
  if (!before) return false;
  return { ...e, firstVersion: before.firstVersion, firstPosition: before.firstPosition };
}

function survivorsIn(streamId: string, pairs: number[], from: number, to: number): DirectoryEntry | undefined {
  const lo = firstAtOrAfter(pairs, from);
  const last = firstAtOrAfter(pairs, to) - 1;
  if (last < lo) return undefined;
  return {
    streamId,
    firstVersion: pairs[2 * lo + 1] as number,
    lastVersion: pairs[2 * last + 1] as number,
    firstPosition: pairs[2 * lo] as number,
    lastPosition: pairs[2 * last] as number,
  };
}

/** Index of the first pair whose position is `position` or more. */
function firstAtOrAfter(pairs: number[], position: number): number {
  let lo = 0;
  let hi = pairs.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((pairs[2 * mid] as number) < position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
