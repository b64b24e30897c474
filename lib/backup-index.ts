/**
 * The index part of a backup (backup.ts): for each kind of index file (stream, command, category
 * and type segments, stream directory files), a chain of files from the start of the log with no
 * gap, all kinds ending at one common position at or below the captured end `E`. The copy's first
 * open then finds every kind covering the same range and replays only [that position, E) into its
 * memtables: no kind is left to be rebuilt behind the others (which would make its counts and
 * listings wait for a background build).
 *
 * Merges go on while the copy is made: a file merged away between the listing and its copy is
 * looked for again in a new listing (the merge that replaced it starts where it started and may
 * end further, so the common end is planned again from that listing).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CHUNK_HEADER_SIZE } from './format/layout.js';
import { fsyncDirectory, mkdirDurable } from './fs-durable.js';

const INDEX_FILE = /^(stream|command|category|type|directory)-([0-9a-f]{12})-([0-9a-f]{12})\.(seg|dir)$/;
const KINDS = ['stream', 'command', 'category', 'type', 'directory'];

/** A merge removing files as they are looked for cannot go on for long: a bound on the retries. */
const RETRIES = 16;

interface IndexFile {
  name: string;
  kind: string;
  from: number;
  to: number;
}

function listIndexFiles(dir: string): IndexFile[] {
  const found: IndexFile[] = [];
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const m = INDEX_FILE.exec(name);
    const dirFile = m?.[1] === 'directory';
    if (m && dirFile === (m[4] === 'dir')) {
      found.push({ name, kind: m[1] as string, from: Number.parseInt(m[2] as string, 16), to: Number.parseInt(m[3] as string, 16) });
    }
  }
  return found;
}

/** Every position a chain of `kind` from the log's start can end at, within `end`, with the
 * chain reaching it (the files that reach furthest at each step first). */
function chainEnds(files: IndexFile[], kind: string, end: number): Map<number, IndexFile[]> {
  const byFrom = new Map<number, IndexFile[]>();
  for (const f of files) {
    if (f.kind !== kind || f.to > end || f.to <= f.from) continue;
    const list = byFrom.get(f.from) ?? [];
    list.push(f);
    byFrom.set(f.from, list);
  }
  const reached = new Map<number, IndexFile[]>([[CHUNK_HEADER_SIZE, []]]);
  const queue = [CHUNK_HEADER_SIZE];
  while (queue.length > 0) {
    const at = queue.shift() as number;
    for (const f of byFrom.get(at) ?? []) {
      if (reached.has(f.to)) continue;
      reached.set(f.to, [...(reached.get(at) as IndexFile[]), f]);
      queue.push(f.to);
    }
  }
  return reached;
}

/** The files to copy: each kind's chain to the furthest end every kind that has files reaches.
 * A kind without any file (a store from before it existed) is left to the copy to build. */
function planCopy(files: IndexFile[], end: number): IndexFile[] {
  const chains = KINDS.filter((k) => files.some((f) => f.kind === k)).map((k) => chainEnds(files, k, end));
  if (chains.length === 0) return [];
  const common = [...(chains[0] as Map<number, IndexFile[]>).keys()].filter((p) => chains.every((c) => c.has(p)));
  const to = Math.max(...common);
  return chains.flatMap((c) => c.get(to) as IndexFile[]);
}

/** Copies `src` to a new `dst` and syncs it: its size, or undefined when `src` is gone. */
async function copyIndexFile(src: string, dst: string): Promise<number | undefined> {
  try {
    await fsp.copyFile(src, dst, fs.constants.COPYFILE_EXCL);
    const h = await fsp.open(dst, 'r+');
    const { size } = await h.stat();
    await h.datasync().finally(() => h.close());
    return size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return undefined;
  }
}

/** Copies the index files of `source` (see the file's header) into `work/index`; how many. */
export async function copyIndex(source: string, end: number, work: string, copied: (bytes: number) => void): Promise<number> {
  const dir = path.join(source, 'index');
  const out = path.join(work, 'index');
  mkdirDurable(out);
  for (let attempt = 0; ; attempt++) {
    const plan = planCopy(listIndexFiles(dir), end);
    const sizes: number[] = [];
    for (const f of plan) {
      const size = await copyIndexFile(path.join(dir, f.name), path.join(out, f.name));
      if (size === undefined) break;
      sizes.push(size);
    }
    if (sizes.length === plan.length || attempt === RETRIES) {
      // Out of retries, the chains copied so far stand: the copy builds the rest from its log.
      for (const s of sizes) copied(s);
      fsyncDirectory(out);
      return sizes.length;
    }
    for (const name of fs.readdirSync(out)) fs.rmSync(path.join(out, name));
  }
}
