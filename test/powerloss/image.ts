/**
 * Turns the replayed state at a cut into a directory on disk: what the disk would hold after a
 * power cut there.
 *
 * - strict: only what completed syncs made durable (file bytes and sizes, directory entries);
 * - random: that, plus part of the rest, seeded. Each 512-byte sector of a file independently
 *   ends at some point of its own history since the last sync (pages reach the disk out of order,
 *   a sector is written whole and never goes back to older bytes), the size at some point of its
 *   history, and the directory entries changed before a random point of the global order of
 *   namespace changes (a journal commits them in order).
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Content, DirNode, type EntryChange, type FileChange, FileNode, type Node } from './fs-model.js';
import type { Replayer } from './replay.js';

const SECTOR = 512;

/** A small seeded generator (mulberry32), so a failing image can be rebuilt from its seed. */
export class Rng {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

export interface ImageOptions {
  /** Keep a random part of what no sync covered (strict when absent). */
  rng?: Rng;
  /**
   * Treat a directory made by mkdir as durable in its parent at once. Not the strict model: it
   * stands in for the missing sync of the parent directory after mkdir (a known defect), so that
   * the other checks can run before that is fixed.
   */
  mkdirDurable: boolean;
}

export interface ImageInfo {
  /** Whether the store's directory exists in the image at all. */
  storePresent: boolean;
  files: number;
  bytes: number;
}

/** The sectors [first, last] a change touches. */
function sectorsOf(c: FileChange): [number, number] | undefined {
  if (c.length === 0) return undefined;
  return [Math.floor(c.offset / SECTOR), Math.floor((c.offset + c.length - 1) / SECTOR)];
}

/** The file's durable bytes, plus for each sector a random number of the changes since. */
export function randomContent(node: FileNode, rng: Rng): Buffer {
  const out = node.durable.clone();
  if (node.pending.length === 0) return out.bytes();
  const touches = new Map<number, number>();
  for (const c of node.pending) {
    const s = sectorsOf(c);
    if (s) for (let i = s[0]; i <= s[1]; i++) touches.set(i, (touches.get(i) ?? 0) + 1);
  }
  const keep = new Map<number, number>();
  for (const [sector, n] of touches) keep.set(sector, rng.int(n + 1));
  const seen = new Map<number, number>();
  for (const c of node.pending) {
    const s = sectorsOf(c);
    if (!s) continue;
    for (let i = s[0]; i <= s[1]; i++) {
      const k = seen.get(i) ?? 0;
      seen.set(i, k + 1);
      if (k < (keep.get(i) ?? 0)) out.applyBytes(c, i * SECTOR, (i + 1) * SECTOR);
    }
  }
  const j = rng.int(node.pending.length + 1);
  const size = j === 0 ? node.durable.size : (node.pending[j - 1] as FileChange).sizeAfter;
  return growTo(out, size).bytes();
}

function growTo(c: Content, size: number): Content {
  if (size > c.buf.length) {
    const b = Buffer.alloc(size);
    c.buf.copy(b);
    c.buf = b;
  }
  c.size = size;
  return c;
}

/** Decides which pending namespace changes an image keeps. */
function namespaceFilter(replayer: Replayer, o: ImageOptions): (c: EntryChange) => boolean {
  let limit = -1;
  if (o.rng) {
    const seqs: number[] = [];
    for (const n of replayer.nodes) if (n instanceof DirNode) for (const c of n.pending) seqs.push(c.seq);
    seqs.sort((a, b) => a - b);
    // Each pending change is as likely to be the first one lost as any other, or none is lost.
    const pick = o.rng.int(seqs.length + 1);
    limit = pick === seqs.length ? replayer.nextSeq() : (seqs[pick] as number);
  }
  return (c) => c.seq < limit || (o.mkdirDurable && c.mkdir);
}

function imageEntries(dir: DirNode, keep: (c: EntryChange) => boolean): Map<string, Node> {
  const entries = new Map(dir.durable);
  for (const c of dir.pending) {
    if (!keep(c)) continue;
    for (const [name, node] of c.entries) {
      if (node) entries.set(name, node);
      else entries.delete(name);
    }
  }
  return entries;
}

/**
 * Writes the image of `replayer.rootPath/sub` at the current cut into `target` (which must not
 * exist); when `sub` did not survive, `target` is left absent.
 */
export function materialize(replayer: Replayer, sub: string, target: string, o: ImageOptions): ImageInfo {
  const keep = namespaceFilter(replayer, o);
  const info: ImageInfo = { storePresent: false, files: 0, bytes: 0 };
  const contents = new Map<FileNode, Buffer>();
  const contentOf = (f: FileNode) => {
    let b = contents.get(f);
    if (!b) {
      b = o.rng ? randomContent(f, o.rng) : f.durable.bytes();
      contents.set(f, b);
    }
    return b;
  };
  const write = (node: Node, to: string, depth: number) => {
    if (depth > 32) throw new Error(`image ${to}: directories nested too deep`);
    if (node instanceof FileNode) {
      const b = contentOf(node);
      fs.writeFileSync(to, b);
      info.files++;
      info.bytes += b.length;
      return;
    }
    fs.mkdirSync(to);
    for (const [name, child] of imageEntries(node, keep)) write(child, path.join(to, name), depth + 1);
  };
  const top = imageEntries(replayer.root, keep).get(sub);
  if (top) {
    info.storePresent = true;
    write(top, target, 0);
  }
  return info;
}

/**
 * Differences between the replayed current state (the page cache, with no power cut) under `sub`
 * and the real directory: none when the tracer saw every change the processes made.
 */
export function compareWithDisk(replayer: Replayer, sub: string, real: string): string[] {
  const diffs: string[] = [];
  const walk = (node: Node | undefined, at: string) => {
    const stat = fs.statSync(at, { throwIfNoEntry: false });
    if (!node || !stat) {
      if (node || stat) diffs.push(`${at}: ${node ? 'missing on disk' : 'not in the replay'}`);
      return;
    }
    if (node instanceof FileNode) {
      if (!stat.isFile() || !fs.readFileSync(at).equals(node.current.bytes())) diffs.push(`${at}: contents differ`);
      return;
    }
    if (!stat.isDirectory()) return void diffs.push(`${at}: not a directory on disk`);
    const names = new Set([...node.current.keys(), ...fs.readdirSync(at)]);
    for (const name of names) walk(node.current.get(name), path.join(at, name));
  };
  walk(replayer.root.current.get(sub), real);
  return diffs;
}
