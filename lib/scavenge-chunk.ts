/**
 * Scavenges one sealed chunk: its pass (scavenge-pass.ts, in a worker: scavenge-runner.ts) writes
 * the surviving frames into a temp file with their logical offsets in a position map
 * (lib/format/scavenged-chunk.ts) and syncs it; then the swap, here on the event loop.
 *
 * The swap, crash-safe at every step: the temp file `NNNNNNNN.chunk.scavenge.tmp` is written whole
 * and fdatasynced, renamed over the chunk, and the directory synced; the log adopts the new file in
 * the same synchronous step as the rename. A crash before the rename leaves the old chunk and a temp
 * file the next writable open removes (both engines remove `*.tmp` in chunks/); after it, the new
 * file is complete on disk, so whichever directory entry survives names a whole chunk.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ScavengeAwareLog } from './engine/scavenged-log.js';
import { chunkFileName } from './format/layout.js';
import { fsyncDirectory, replaceFile } from './fs-durable.js';
import type { PassResult } from './scavenge-pass.js';
import type { PassHandlers, PassRunner } from './scavenge-runner.js';

/** Steps of a chunk's scavenge, named for the crash tests (scavenge.ts scavengeSteps). */
export type ScavengeStep = 'examined' | 'written' | 'synced' | 'renamed' | 'dir-synced' | 'adopted';

export interface ChunkScavenge {
  /** Bytes of frames (and of a previous map) before and after. */
  before: number;
  after: number;
  removed: number;
  rewritten: boolean;
  /** A damaged frame was met: the chunk is left as it is. */
  damaged: boolean;
  /** What the pass saw (its survivors of streams with rules). */
  pass: PassResult;
  /** Settles once the replaced file's last descriptor is closed (its blocks freed). */
  released: Promise<void>;
}

export interface RewriteDeps {
  log: ScavengeAwareLog;
  runner: PassRunner;
  /** The rules of stream ids new to the pass, and their generation (PassRequest.rulesEpoch). */
  ask: PassHandlers['ask'];
  rulesEpoch: number;
  /** After the pass, before anything is swapped: the memtable is in index files, and the version
   * floors of streams whose last event goes are made durable (an index rebuilt from the log would
   * not know their versions). */
  secureVersions(pass: PassResult): Promise<void>;
  /** Before the swap: true when the scavenge is to stop. */
  stopped(): boolean;
  step(step: ScavengeStep, chunk: number): void;
  /** Before the new file is renamed into place (records the directory rebuild it owes). */
  beforeSwap(chunk: number): void;
}

/** Scavenges chunk `n` (sealed); the log must not be appended into it. Undefined: stopped. */
export async function scavengeChunk(d: RewriteDeps, n: number): Promise<ChunkScavenge | undefined> {
  const { log } = d;
  const file = path.join(log.dir, chunkFileName(n));
  const tmp = `${file}.scavenge.tmp`;
  let renamed = false;
  let held: number | undefined;
  try {
    const pass = await d.runner.pass(
      { file, tmp, n, chunkSize: log.chunkSize, rulesEpoch: d.rulesEpoch },
      { ask: d.ask, step: (step) => d.step(step, n) },
    );
    if (!pass) return undefined;
    const { before, after, removed, damaged } = pass;
    const result: ChunkScavenge = { before, after, removed, rewritten: false, damaged, pass, released: Promise.resolve() };
    if (!pass.written) return result;
    await d.secureVersions(pass);
    if (d.stopped()) return undefined;
    d.beforeSwap(n);
    held = holdOpen(file);
    // Release, rename and adoption in one synchronous step: no read runs between them. The engine
    // lets go of the old file first (where a file held open cannot be renamed over, Windows, this
    // is what lets the rename through); were the rename to fail, it opens the old file again.
    log.releaseOld(n);
    replaceFile(tmp, file);
    renamed = true;
    d.step('renamed', n);
    fsyncDirectory(log.dir);
    d.step('dir-synced', n);
    log.adopt(n, { logical: pass.logical, offsets: pass.offsets });
    d.step('adopted', n);
    result.rewritten = true;
    result.released = closeLater(held);
    held = undefined;
    return result;
  } finally {
    if (!renamed) fs.rmSync(tmp, { force: true });
    if (held !== undefined) fs.closeSync(held);
  }
}

/**
 * A descriptor of the chunk about to be replaced, held across the rename so the rename does not
 * drop the old file's last reference: freeing a large file's blocks (with TRIM where the file
 * system discards online) then happens when `closeLater` closes it on the libuv pool, not in the
 * rename on the event loop. Not on Windows, where a file held open cannot be renamed over.
 */
function holdOpen(file: string): number | undefined {
  if (process.platform === 'win32') return undefined;
  try {
    return fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
}

function closeLater(fd: number | undefined): Promise<void> {
  if (fd === undefined) return Promise.resolve();
  return new Promise((resolve) => fs.close(fd, () => resolve()));
}
