/**
 * The index files of a directory another process writes (a follower's view of the writer's
 * index): segment chains and stream directories loaded with every file opened at once. A writer
 * deletes the inputs of a merge once the merged file is in place, so a file listed now may be gone
 * when first read; a file opened is kept (POSIX keeps an unlinked file's data while it is open,
 * and a mapping holds it), so a load whose every file opened is a whole, consistent chain. One
 * that lost a file to a merge is closed and loaded again, up to LOAD_ATTEMPTS times.
 */

import type { SegmentBackend } from './segment-backend.js';
import { KINDS, SegmentCatalog } from './segment-catalog.js';
import { StreamDirectory } from './stream-directory.js';

const LOAD_ATTEMPTS = 4;

export interface IndexFiles {
  catalog: SegmentCatalog;
  directory: StreamDirectory;
}

export interface PinnedLoad {
  indexDir: string;
  segments: SegmentBackend;
  directories: StreamDirectory['backend'];
  logEnd: number;
  chunkSize: number;
}

/** Every chain slot opened, or undefined when one could not be (a merge removed it meanwhile). */
function loadOnce(p: PinnedLoad): IndexFiles | undefined {
  const quiet = () => {};
  const catalog = SegmentCatalog.load(p.indexDir, p.segments, p.logEnd, p.chunkSize, false, quiet);
  // A slot broken at load (a gap the writer is rebuilding, a kind not built yet) is answered from
  // the log; a listed file that fails to open was (most likely) merged away meanwhile.
  let whole = KINDS.every((k) => catalog.of(k).every((slot) => slot.broken !== undefined || catalog.readerOf(slot) !== undefined));
  const coverTo = Math.min(...KINDS.map((k) => catalog.coverage(k)));
  const directory = StreamDirectory.load(
    p.indexDir,
    p.directories,
    { logEnd: p.logEnd, coverTo, chunkSize: p.chunkSize, writable: false },
    quiet,
  );
  whole &&= directory.chain.every((slot) => slot.broken !== undefined || directory.readerOf(slot) !== undefined);
  if (whole) return { catalog, directory };
  catalog.close();
  directory.close();
  return undefined;
}

/** The writer's index files as they are now, every one open; undefined when merges kept racing. */
export function loadPinnedIndexFiles(p: PinnedLoad): IndexFiles | undefined {
  for (let attempt = 0; attempt < LOAD_ATTEMPTS; attempt++) {
    const files = loadOnce(p);
    if (files) return files;
  }
  return undefined;
}

/** Where the writer's segment chains (as named in the directory now) all reach: no file opened. */
export function writerCoverage(p: PinnedLoad): number {
  const catalog = SegmentCatalog.load(p.indexDir, p.segments, p.logEnd, p.chunkSize, false, () => {});
  const coverage = Math.min(...KINDS.map((k) => catalog.coverage(k)));
  catalog.close();
  return coverage;
}
