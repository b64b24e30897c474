/**
 * A page of the store's streams in id order (UTF-8 bytes), from every source that knows streams:
 * the stream directory's files (oldest first) and the memtables. Each source gives its first ids
 * past the page's start, as many as the page needs; an id among the page's first `limit` is among
 * the first `limit` of every source holding it, so the merge is exact. A stream in several sources
 * takes its first version and position from the oldest, its last from the newest. The cost
 * follows the page and the number of sources, not the number of streams.
 */
import { CorruptionError } from '../errors.js';
import { compareUtf8 } from '../format/utf8-order.js';
import { type DirectoryEntry, type DirectoryReader, mergeListings } from './directory-backend.js';
import type { Memtable } from './memtable.js';
import type { DirectorySlot, StreamDirectory } from './stream-directory.js';

export interface StreamPageQuery {
  after?: string;
  prefix?: string;
  limit: number;
}

/** Entries of a page (at most `limit`) and whether more follow them. */
export async function streamPage(
  directory: StreamDirectory,
  memtables: readonly Memtable[],
  q: StreamPageQuery,
  scanSlot: (
    slot: DirectorySlot,
    q: { after?: string; prefix?: string; take: number },
  ) => Promise<{ entries: DirectoryEntry[]; whole: boolean }>,
): Promise<{ entries: DirectoryEntry[]; more: boolean }> {
  const take = q.limit + 1;
  // The sources as they are now: a build or merge while a slot is scanned changes the chain.
  const slots = [...directory.chain];
  // Read now, before any wait: a memtable retired meanwhile gives its columns to the next one.
  const newest = memtables.map((m) => m.streams.page(q.after, q.prefix, take));
  const pages: DirectoryEntry[][] = [];
  const readers = slots.map((slot) => directory.readerOf(slot));
  if (readers.every((r) => r !== undefined) && readers.length > 0) {
    // The usual case: every file readable, merged in one call of the backend.
    const merged = listManySafely(directory, readers as DirectoryReader[], q.after, q.prefix, take);
    if (merged) pages.push(merged);
  }
  if (pages.length === 0) {
    for (const slot of slots) {
      const page = readPage(directory, slot, q.after, q.prefix, take);
      if (page) pages.push(page);
      else if (slot.scanned) pages.push(pageOfSorted(slot.scanned, q.after, q.prefix, take));
      else {
        // Its log range: kept whole while it fits the bound the scan is given, else this page's.
        const scan = await scanSlot(slot, { after: q.after, prefix: q.prefix, take });
        if (scan.whole) slot.scanned = scan.entries;
        pages.push(pageOfSorted(scan.entries, q.after, q.prefix, take));
      }
    }
  }
  pages.push(...newest);
  return mergeListings(pages, q.limit);
}

/** The files' merged page; undefined when one turns out damaged (then read file by file). */
function listManySafely(
  directory: StreamDirectory,
  readers: DirectoryReader[],
  after: string | undefined,
  prefix: string | undefined,
  take: number,
): DirectoryEntry[] | undefined {
  try {
    return directory.backend.listMany(readers, after, prefix, take);
  } catch (err) {
    if (!(err instanceof CorruptionError)) throw err;
    return undefined; // readPage finds which file, and marks it broken
  }
}

/** A page of a slot's file; undefined when the slot is broken, or turns out damaged now (then it
 * is marked broken and rebuilt, and the caller reads its log range). */
function readPage(
  directory: StreamDirectory,
  slot: DirectorySlot,
  after: string | undefined,
  prefix: string | undefined,
  take: number,
): DirectoryEntry[] | undefined {
  const reader = directory.readerOf(slot);
  if (!reader) return undefined;
  try {
    return reader.page(after, prefix, take);
  } catch (err) {
    if (!(err instanceof CorruptionError)) throw err;
    directory.markBroken(slot, err.message);
    return undefined;
  }
}

/** Up to `limit` of `sorted` (in id order) with id above `after` and starting with `prefix`. */
export function pageOfSorted(
  sorted: readonly DirectoryEntry[],
  after: string | undefined,
  prefix: string | undefined,
  limit: number,
): DirectoryEntry[] {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const id = (sorted[mid] as DirectoryEntry).streamId;
    const below = (after !== undefined && compareUtf8(id, after) <= 0) || (prefix !== undefined && compareUtf8(id, prefix) < 0);
    if (below) lo = mid + 1;
    else hi = mid;
  }
  const out: DirectoryEntry[] = [];
  for (let k = lo; k < sorted.length && out.length < limit; k++) {
    const e = sorted[k] as DirectoryEntry;
    if (prefix !== undefined && !e.streamId.startsWith(prefix)) break;
    out.push(e);
  }
  return out;
}
