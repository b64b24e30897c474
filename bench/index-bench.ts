/**
 * Index bench, native against JS on the same store: E events in S streams (plus one hot
 * stream of 1,000 events), one command per append. Measures open time at E/10 and E events, the
 * latest version of cold streams, absent command ids (Bloom filters), full reads of the 1,000-event
 * stream, segment build time per million entries, and the memory of the dictionaries.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SEGMENT_KIND_STREAM } from '../lib/format/index-layout.js';
import { JsSegmentBackend } from '../lib/index/js-segments.js';
import { NativeSegmentBackend } from '../lib/index/native-segments.js';
import type { SegmentBackend } from '../lib/index/segment-backend.js';
import { type EngineName, EventStore } from '../lib/index.js';
import { nativeAddon } from '../lib/native.js';
import { syncFileSystems } from './machine.js';
import { payload } from './workload.js';

export interface IndexBenchResult {
  events: number;
  streams: number;
  openMs: Record<string, Record<string, number>>;
  ops: Record<string, Record<string, number>>;
  buildMsPerMillion: Record<string, number>;
  dictionaryBytesPerStream: Record<string, number>;
}

const HOT = 'hot-stream';

async function generate(dir: string, from: number, to: number, streams: number, perAppend: number): Promise<void> {
  const s = await EventStore.open(dir, { engine: nativeAddon() ? 'native' : 'js', durability: 'none' });
  for (let e = from; e < to; e += perAppend) {
    const a = e / perAppend;
    const stream = a % 1000 === 999 && (await s.streamVersion(HOT)) < 1000 ? HOT : `stream-${a % streams}`;
    await s.append(
      stream,
      Array.from({ length: perAppend }, (_, k) => ({ type: 'Placed', data: payload(e + k) })),
      { commandId: `cmd-${a}` },
    );
  }
  await s.close();
}

/**
 * Open times of the store at a tenth of its size and at its full size, measured alternately in the
 * same minutes of the same process: medians of 15 opens of each. One open takes about a
 * millisecond, where a single timing is mostly scheduler noise, and the two sizes measured minutes
 * apart (the tenth before the rest was generated, in a colder process) put that noise in the ratio:
 * it swung between 1.0x and 6.9x from run to run.
 */
async function timedOpens(dirs: string[], engine: EngineName): Promise<number[]> {
  const times: number[][] = dirs.map(() => []);
  for (let i = 0; i < 15; i++) {
    for (const [k, dir] of dirs.entries()) {
      const t = performance.now();
      const s = await EventStore.open(dir, { engine, readOnly: true });
      (times[k] as number[]).push(performance.now() - t);
      await s.close();
    }
  }
  return times.map((ts) => ts.sort((a, b) => a - b)[7] as number);
}

function rate(n: number, ms: number): number {
  return n / (ms / 1000);
}

async function lookups(dir: string, engine: EngineName, streams: number, quick: boolean): Promise<Record<string, number>> {
  const s = await EventStore.open(dir, { engine, readOnly: true });
  const n = quick ? 2000 : 10_000;
  // Warm the JIT on inputs the timed loops do not use (streams past the first n of the same
  // permutation): the engines share the TypeScript around them, and whichever ran first paid for
  // compiling it.
  for (let i = n; i < n + 500; i++) await s.streamVersion(`stream-${(i * 7919) % streams}`);
  for (let i = 0; i < 500; i++) await s.readCommand(`warm-absent-${i}`);
  for (let i = 0; i < 50; i++) await s.readCommand(`cmd-${(i * 104729) % 1000}`);
  await s.readStream(HOT);
  let t = performance.now();
  for (let i = 0; i < n; i++) await s.streamVersion(`stream-${(i * 7919) % streams}`);
  const coldLatest = rate(n, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < n; i++) await s.readCommand(`absent-${i}`);
  const absentCommand = rate(n, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < n; i++) await s.readCommand(`cmd-${(i * 104729) % 1000}`);
  const presentCommand = rate(n, performance.now() - t);
  const reads = quick ? 20 : 100;
  t = performance.now();
  let events = 0;
  for (let i = 0; i < reads; i++) events += (await s.readStream(HOT)).length;
  const hotRead = rate(events, performance.now() - t);
  // Dictionary memory: touch every stream once (cold lookups fill the latest-version dictionary).
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < streams; i++) await s.streamVersion(`stream-${i}`);
  gc?.();
  const after = process.memoryUsage().heapUsed;
  const dict = (await s.stats()).index.latestVersionEntries;
  await s.close();
  return {
    coldLatest,
    absentCommand,
    presentCommand,
    hotReadEventsPerSec: hotRead,
    dictBytesPerEntry: (after - before) / Math.max(1, dict),
  };
}

async function buildPerMillion(backend: SegmentBackend, dir: string, n: number): Promise<number> {
  const e = {
    hi: Uint32Array.from({ length: n }, (_, i) => (Math.imul(i, 2654435761) >>> 0) % 65_536),
    lo: Uint32Array.from({ length: n }, (_, i) => (i * 40503) >>> 0),
    seq: Uint32Array.from({ length: n }, (_, i) => i % 1000),
    position: Float64Array.from({ length: n }, (_, i) => 64 + i * 200),
  };
  const t = performance.now();
  await backend.build(dir, `bench-${n}.seg`, { kind: SEGMENT_KIND_STREAM, fromPosition: 64, toPosition: 64 + n * 200 }, e);
  return ((performance.now() - t) * 1_000_000) / n;
}

export async function runIndexBench(opts: { quick: boolean; events?: number; engines: EngineName[] }): Promise<IndexBenchResult> {
  const events = opts.events ?? (opts.quick ? 1_000_000 : 10_000_000);
  const streams = opts.quick ? 10_000 : 100_000;
  const perAppend = events / streams >= 100 ? 100 : 10;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-index-bench-'));
  const tenthDir = `${dir}-tenth`;
  const result: IndexBenchResult = { events, streams, openMs: {}, ops: {}, buildMsPerMillion: {}, dictionaryBytesPerStream: {} };
  try {
    const tenth = Math.floor(events / 10 / perAppend) * perAppend;
    await generate(dir, 0, tenth, streams, perAppend);
    // A copy of the store at a tenth of its size, opened beside the full one (timedOpens).
    fs.cpSync(dir, tenthDir, { recursive: true });
    await generate(dir, tenth, events, streams, perAppend);
    // The store was generated without flushes: write its dirty pages back now, so no timed step
    // below (a segment build's fsync above all) waits for gigabytes of someone else's writeback.
    syncFileSystems();
    for (const engine of opts.engines) {
      const [small, large] = await timedOpens([tenthDir, dir], engine);
      result.openMs[engine] = { [String(tenth)]: small as number, [String(events)]: large as number };
    }
    for (const engine of opts.engines) {
      const ops = await lookups(dir, engine, streams, opts.quick);
      result.dictionaryBytesPerStream[engine] = ops.dictBytesPerEntry as number;
      delete ops.dictBytesPerEntry;
      result.ops[engine] = ops;
    }
    const addon = nativeAddon();
    const n = opts.quick ? 1_000_000 : 2_000_000;
    if (addon) result.buildMsPerMillion.native = await buildPerMillion(new NativeSegmentBackend(addon), dir, n);
    result.buildMsPerMillion.js = await buildPerMillion(new JsSegmentBackend(), dir, n);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(tenthDir, { recursive: true, force: true });
  }
  return result;
}

export function printIndexBench(r: IndexBenchResult): void {
  console.log(`index bench: ${r.events} events in ${r.streams} streams (+ a 1,000-event stream)`);
  for (const [engine, o] of Object.entries(r.openMs)) {
    const [a, b] = Object.entries(o);
    console.log(
      `  ${engine.padEnd(6)} open: ${a?.[0]} events ${a?.[1].toFixed(1)} ms, ${b?.[0]} events ${b?.[1].toFixed(1)} ms (ratio ${((b?.[1] ?? 0) / (a?.[1] ?? 1)).toFixed(2)}x)`,
    );
  }
  for (const [engine, o] of Object.entries(r.ops)) {
    console.log(
      `  ${engine.padEnd(6)} cold latest version ${o.coldLatest?.toFixed(0)}/s, absent command ${o.absentCommand?.toFixed(0)}/s, present command ${o.presentCommand?.toFixed(0)}/s, 1,000-event stream read ${o.hotReadEventsPerSec?.toFixed(0)} events/s`,
    );
  }
  const n = r.ops.native;
  const j = r.ops.js;
  if (n && j) {
    console.log(
      `  native/js: cold latest ${((n.coldLatest ?? 0) / (j.coldLatest ?? 1)).toFixed(2)}x, absent command ${((n.absentCommand ?? 0) / (j.absentCommand ?? 1)).toFixed(2)}x, stream read ${((n.hotReadEventsPerSec ?? 0) / (j.hotReadEventsPerSec ?? 1)).toFixed(2)}x`,
    );
  }
  const bn = r.buildMsPerMillion.native;
  const bj = r.buildMsPerMillion.js;
  console.log(
    `  segment build per million entries: native ${bn?.toFixed(0) ?? '-'} ms, js ${bj?.toFixed(0)} ms${bn && bj ? ` (native ${(bj / bn).toFixed(1)}x faster)` : ''}`,
  );
  for (const [engine, b] of Object.entries(r.dictionaryBytesPerStream))
    console.log(`  ${engine} latest-version dictionary: ~${b.toFixed(0)} bytes per stream`);
  for (const line of indexTargets(r)) console.log(line);
}

/** The index targets the project set itself for the native engine, as PASS/MISS lines (full runs: 10M events). */
export function indexTargets(r: IndexBenchResult): string[] {
  const out: string[] = [];
  const open = Object.values(r.openMs.native ?? {});
  const [small, large] = [open[0], open[1]];
  if (small !== undefined && large !== undefined) {
    const ok = large < 50 && large <= 1.5 * small;
    out.push(
      `${ok ? 'PASS' : 'MISS'}  reopen at ${r.events} events < 50 ms and <= 1.5x at a tenth: ${large.toFixed(1)} ms, ${(large / small).toFixed(2)}x`,
    );
  }
  const bn = r.buildMsPerMillion.native;
  const bj = r.buildMsPerMillion.js;
  if (bn && bj) out.push(`${bj / bn >= 5 ? 'PASS' : 'MISS'}  native >= 5x js on segment builds: ${(bj / bn).toFixed(1)}x`);
  return out;
}
