/**
 * Runs the power-loss workload under the tracer and chooses where to cut its trace.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { EngineName } from '../../lib/index.js';
import type { Rng } from './image.js';
import { Op, SYNC_DROPPED, type TraceRecord } from './trace-format.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const WRITER = path.join(REPO, 'test', 'fixtures', 'powerloss-writer.ts');

/** Builds the tracer into `dir`; undefined (with the reason) where no C compiler works. */
export function buildTracer(dir: string): { lib?: string; error?: string } {
  const lib = path.join(dir, 'trace.so');
  const src = ['trace.c', 'trace-ns.c'].map((f) => path.join(import.meta.dirname, f));
  const r = spawnSync('cc', ['-O2', '-shared', '-fPIC', '-o', lib, ...src, '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { error: (r.error?.message ?? r.stderr).split('\n')[0] };
  return { lib };
}

export interface Session {
  appends: number;
  /** close: close() then exit; exit: exit with appends in flight and without close(). */
  ending: 'close' | 'exit';
}

export interface Workload {
  /** POWERLOSS_ROOT: holds the store and the ack file. */
  root: string;
  store: string;
  ackFile: string;
  trace: string;
}

/** Where a workload run in `dir` keeps its files (also those of a kept run, to replay it again). */
export function workloadIn(dir: string): Workload {
  const root = path.join(dir, 'root');
  return { root, store: path.join(root, 'store'), ackFile: path.join(root, 'acks.log'), trace: path.join(dir, 'trace.bin') };
}

/** Runs the writer once per session, one after another on the same store, all into one trace. */
export async function runWorkload(
  tracer: string,
  dir: string,
  engine: EngineName,
  seed: number,
  sessions: Session[],
  dropSyncGlob?: string,
): Promise<Workload> {
  const w = workloadIn(dir);
  fs.mkdirSync(w.root, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LD_PRELOAD: tracer,
    POWERLOSS_ROOT: w.root,
    POWERLOSS_TRACE: w.trace,
    // libuv would otherwise be free to do file I/O through io_uring, which bypasses libc.
    UV_USE_IO_URING: '0',
  };
  if (dropSyncGlob) env.POWERLOSS_DROP_SYNC_GLOB = dropSyncGlob;
  for (const [i, s] of sessions.entries()) {
    const args = ['--import', 'tsx', WRITER, w.store, w.ackFile, engine, String(seed + i), String(s.appends), s.ending, String(i)];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer session ${i} exited with ${code}: ${output}`))));
    });
  }
  return w;
}

export interface Cut {
  /** Records kept: the cut falls just before record `at`. */
  at: number;
  /** What the cut follows: the kind of file whose sync just completed, or 'random'. */
  label: string;
}

/** The kind of file a record is about, from its path. */
export function fileKind(p: string): string {
  const name = path.basename(p);
  if (/^\d{8}\.chunk$/.test(name)) return 'chunk';
  if (name.endsWith('.chunk.tmp')) return 'new chunk';
  if (name.endsWith('.seg.tmp')) return 'segment';
  if (name.endsWith('.snap.tmp')) return 'snapshot';
  if (name === 'writer.chk') return 'checkpoint';
  if (name === 'chunks' || name === 'index' || /^[0-9a-f]{2}$/.test(name) || name === 'snapshots' || name === 'store') {
    return `directory ${name.length === 2 ? 'snapshots/xx' : name}`;
  }
  return name;
}

/**
 * Where to cut: just after sync completions (those of rare kinds — new chunks, segments,
 * snapshots, directories, checkpoints — first, then chunk data syncs) and at random records,
 * `count` in all, plus the end of the trace.
 */
export function planCuts(records: TraceRecord[], count: number, rng: Rng): Cut[] {
  const rare: Cut[] = [];
  const data: Cut[] = [];
  for (const r of records) {
    if (r.op !== Op.syncEnd || r.result < 0 || r.flags & SYNC_DROPPED) continue;
    const cut = { at: r.index + 1, label: `after sync of ${fileKind(r.path)}` };
    (fileKind(r.path) === 'chunk' ? data : rare).push(cut);
  }
  const pick = (from: Cut[], n: number) => {
    const pool = [...from];
    const out: Cut[] = [];
    while (out.length < n && pool.length > 0) out.push(pool.splice(rng.int(pool.length), 1)[0] as Cut);
    return out;
  };
  const cuts = [...pick(rare, Math.ceil(count / 2)), ...pick(data, Math.ceil(count / 4))];
  while (cuts.length < count) cuts.push({ at: rng.int(records.length + 1), label: 'random record' });
  cuts.push({ at: records.length, label: 'end of trace' });
  const unique = new Map(cuts.map((c) => [c.at, c]));
  return [...unique.values()].sort((a, b) => a.at - b.at);
}
