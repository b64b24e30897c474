import { compareUtf8 } from '../format/utf8-order.js';
/**
 * What the index needs from an engine for stream directory files (lib/format/directory-layout.ts,
 * native/directory_format.h): open one to page through its streams in id order, build one from a
 * memtable's streams, merge several. The native backend runs builds and merges on the libuv pool
 * (native/directory_builder.cc); the JS backend does the same in TypeScript, on the event loop.
 * Both write identical bytes for the same input and read each other's files.
 */

/** One stream's entries in the log range a directory file covers. */
export interface DirectoryEntry {
  streamId: string;
  firstVersion: number;
  lastVersion: number;
  firstPosition: number;
  lastPosition: number;
}

/**
 * Input of a build: unsorted. ids are UTF-8, concatenated; idEnds[i] is the end offset of id i
 * (id i starts where id i - 1 ends; id 0 at 0). Each id is valid UTF-8 of at most 65535 bytes, ids
 * are distinct, first <= last, positions are integers below 2^48; anything else rejects the build
 * with INVALID_ARGUMENT. The native build reads the arrays in place on the pool: leave them alone
 * until its promise settles.
 */
export interface DirectoryInput {
  ids: Buffer;
  idEnds: Uint32Array;
  firstVersion: Uint32Array;
  lastVersion: Uint32Array;
  firstPosition: Float64Array;
  lastPosition: Float64Array;
}

export interface DirectorySpec {
  fromPosition: number;
  toPosition: number;
}

export interface DirectoryReader {
  readonly path: string;
  readonly header: {
    fromPosition: number;
    toPosition: number;
    entryCount: number;
    /** Streams whose firstVersion is 1. */
    starts: number;
  };
  /**
   * Up to `limit` entries (an integer from 0 to DIRECTORY_MAX_PAGE_LIMIT, 10000) with id > after
   * (byte order of UTF-8; after undefined = from the first) and, when `prefix` is given, starting
   * with it; in order. Reads O(height) pages to find the start, then the leaves it returns.
   */
  page(after: string | undefined, prefix: string | undefined, limit: number): DirectoryEntry[];
  /** The entry of one id, if present. */
  get(streamId: string): DirectoryEntry | undefined;
  close(): void;
}

export interface DirectoryBackend {
  open(path: string): DirectoryReader;
  /** The merged page of several files of adjacent ranges (oldest first, each opened by this
   * backend): the first `limit` distinct ids past `after` with `prefix`, a stream in several taking
   * its first version and position from the oldest, its last ones from the newest. */
  listMany(readers: DirectoryReader[], after: string | undefined, prefix: string | undefined, limit: number): DirectoryEntry[];
  /** Sorts `input` by id bytes and writes dir/name: temporary file, fdatasync, rename, directory
   * fsync. Off the event loop in the native backend. */
  build(dir: string, name: string, spec: DirectorySpec, input: DirectoryInput): Promise<void>;
  /** Merges directories of adjacent log ranges (inputs oldest first, each opened by this backend)
   * into one covering them all: for an id in several, firstVersion/firstPosition from the oldest
   * input holding it, lastVersion/lastPosition from the newest. Off the event loop in the native
   * backend. */
  merge(dir: string, name: string, spec: DirectorySpec, inputs: DirectoryReader[]): Promise<void>;
}

/** A build's input of `n` streams, their ids' UTF-8 in `ids` and the columns to fill. */
export function directoryInputFor(n: number, ids: Buffer): DirectoryInput {
  return {
    ids,
    idEnds: new Uint32Array(n),
    firstVersion: new Uint32Array(n),
    lastVersion: new Uint32Array(n),
    firstPosition: new Float64Array(n),
    lastPosition: new Float64Array(n),
  };
}

/** A build's input from entries (any order). */
export function directoryInputOf(entries: readonly DirectoryEntry[]): DirectoryInput {
  const ids = entries.map((e) => Buffer.from(e.streamId, 'utf8'));
  const input = directoryInputFor(entries.length, Buffer.concat(ids));
  let end = 0;
  entries.forEach((e, i) => {
    end += (ids[i] as Buffer).length;
    input.idEnds[i] = end;
    input.firstVersion[i] = e.firstVersion;
    input.lastVersion[i] = e.lastVersion;
    input.firstPosition[i] = e.firstPosition;
    input.lastPosition[i] = e.lastPosition;
  });
  return input;
}

/**
 * Merges source pages (each in id order, sources oldest first) into the first `limit` distinct
 * streams, and whether more follow: a k-way merge over the few sources, combining a stream found
 * in several (native/directory_listing.h is the native twin).
 */
export function mergeListings(pages: DirectoryEntry[][], limit: number): { entries: DirectoryEntry[]; more: boolean } {
  const at = new Array<number>(pages.length).fill(0);
  const entries: DirectoryEntry[] = [];
  for (;;) {
    let least: string | undefined;
    for (let k = 0; k < pages.length; k++) {
      const e = (pages[k] as DirectoryEntry[])[at[k] as number];
      if (e !== undefined && (least === undefined || compareUtf8(e.streamId, least) < 0)) least = e.streamId;
    }
    if (least === undefined) return { entries, more: false };
    if (entries.length === limit) return { entries, more: true };
    let combined: DirectoryEntry | undefined;
    for (let k = 0; k < pages.length; k++) {
      const e = (pages[k] as DirectoryEntry[])[at[k] as number];
      if (e === undefined || e.streamId !== least) continue;
      at[k] = (at[k] as number) + 1;
      // Oldest source first: its first version and position stand, newer ones' last ones win.
      if (combined === undefined) combined = { ...e };
      else {
        combined.lastVersion = e.lastVersion;
        combined.lastPosition = e.lastPosition;
      }
    }
    entries.push(combined as DirectoryEntry);
  }
}
