/**
 * Micro suites (benchmark.js), native engine against the TypeScript engine on the same files:
 * encode + append of a 100-event batch, flush (one durable single-event append), Bloom probe hit
 * and miss, point lookup by (stream, version) and by command id, full read of a 1,000-event stream,
 * open time. Segment builds per million entries are in the index suite (bench/index-bench.ts).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { SEGMENT_KIND_STREAM } from '../lib/format/index-layout.js';
import { keyOf } from '../lib/format/key-hash.js';
import { JsSegmentBackend } from '../lib/index/js-segments.js';
import { NativeSegmentBackend } from '../lib/index/native-segments.js';
import type { SegmentReader } from '../lib/index/segment-backend.js';
import { type EngineName, EventStore } from '../lib/index.js';
import { nativeAddon } from '../lib/native.js';
import { syncFileSystems } from './machine.js';
import { batch, payload } from './workload.js';

// benchmark.js ships no types; this is the part of its API used here.
interface Deferred {
  resolve(): void;
}
interface BenchTarget {
  name: string;
  hz: number;
  stats: { rme: number };
}
interface BenchSuite {
  add(name: string, fn: (d: Deferred) => void, options: { defer: boolean; maxTime: number; minSamples: number }): BenchSuite;
  on(event: 'cycle', fn: (e: { target: BenchTarget }) => void): BenchSuite;
  on(event: 'complete', fn: () => void): BenchSuite;
  run(options: { async: boolean }): void;
}
const Benchmark = createRequire(import.meta.url)('benchmark') as { Suite: new () => BenchSuite };

export interface MicroRow {
  name: string;
  opsPerSec: Record<string, number>;
  rmePercent: Record<string, number>;
}

const STREAMS = 1000;
const HOT = 'hot-stream';

/** 20,000 events over 1,000 streams with a command each, plus one 1,000-event stream. */
async function makeStore(dir: string): Promise<void> {
  const s = await EventStore.open(dir, { engine: nativeAddon() ? 'native' : 'js', durability: 'none', indexMemtableEntries: 10_000 });
  for (let i = 0; i < 20_000; i++)
    await s.append(`stream-${i % STREAMS}`, [{ type: 'Placed', data: payload(i) }], { commandId: `cmd-${i}` });
  for (let i = 0; i < 10; i++) await s.append(HOT, batch(i * 100, 100));
  await s.close();
}

function run(suite: BenchSuite): Promise<BenchTarget[]> {
  const out: BenchTarget[] = [];
  return new Promise((resolve) => {
    suite
      .on('cycle', (e) => {
        out.push(e.target);
      })
      .on('complete', () => resolve(out))
      .run({ async: true });
  });
}

async function engineCases(engine: EngineName, dataDir: string, scratch: string, maxTime: number): Promise<BenchTarget[]> {
  const opts = { defer: true, maxTime, minSamples: 5 };
  const reader = await EventStore.open(dataDir, { engine, readOnly: true });
  const appender = await EventStore.open(path.join(scratch, `append-${engine}`), { engine, durability: 'none' });
  const flusher = await EventStore.open(path.join(scratch, `flush-${engine}`), { engine });
  let n = 0;
  let seed = 7;
  const rand = (m: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % m;
  };
  const done = (d: Deferred) => () => d.resolve();
  // The flush case first, after a sync: appends with durability 'none' (the next case, and the
  // other engine's run) leave hundreds of megabytes of dirty pages whose writeback a flush would
  // queue behind (one run measured 188 flushes/s, ±180%).
  syncFileSystems();
  const flushes = await run(
    new Benchmark.Suite().add(
      'flush (one durable single-event append)',
      (d) => void flusher.append(`f-${n++ % 100}`, [{ type: 'T', data: { n } }]).then(done(d)),
      opts,
    ),
  );
  const suite = new Benchmark.Suite()
    .add('encode + append a 100-event batch', (d) => void appender.append(`s-${n++ % 100}`, batch(n * 100, 100)).then(done(d)), opts)
    .add('point lookup by (stream, version)', (d) => void reader.readEvent(`stream-${rand(STREAMS)}`, 1 + rand(20)).then(done(d)), opts)
    .add('point lookup by command id', (d) => void reader.readCommand(`cmd-${rand(20_000)}`).then(done(d)), opts)
    .add('full read of a 1,000-event stream', (d) => void reader.readStream(HOT).then(done(d)), opts)
    .add(
      'open (read-only) and close',
      (d) =>
        void EventStore.open(dataDir, { engine, readOnly: true })
          .then((s) => s.close())
          .then(done(d)),
      opts,
    );
  const results = await run(suite);
  await Promise.all([reader.close(), appender.close(), flusher.close()]);
  return [...flushes, ...results];
}

/** Bloom probes of one stream segment: keys it holds and keys it does not. */
async function bloomCases(reader: SegmentReader, present: string[], maxTime: number): Promise<BenchTarget[]> {
  const opts = { defer: false, maxTime, minSamples: 5 };
  const hits = present.map(keyOf);
  const misses = present.map((s) => keyOf(`absent-${s}`));
  let i = 0;
  let sink = 0;
  const suite = new Benchmark.Suite();
  for (const [name, keys] of [
    ['Bloom probe, hit', hits],
    ['Bloom probe, miss', misses],
  ] as const) {
    suite.add(
      name,
      () => {
        const k = keys[i++ % keys.length] as { hi: number; lo: number };
        if (reader.mayContain(k.hi, k.lo)) sink++;
      },
      opts,
    );
  }
  const results = await run(suite);
  if (sink < 0) console.log(sink); // keeps the probes from being optimised away
  return results;
}

export async function runMicro(opts: { quick: boolean; engines: EngineName[] }): Promise<MicroRow[]> {
  const maxTime = opts.quick ? 0.5 : 2;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-micro-'));
  const rows = new Map<string, MicroRow>();
  const record = (engine: string, targets: BenchTarget[]) => {
    for (const t of targets) {
      const row = rows.get(t.name) ?? { name: t.name, opsPerSec: {}, rmePercent: {} };
      row.opsPerSec[engine] = t.hz;
      row.rmePercent[engine] = t.stats.rme;
      rows.set(t.name, row);
    }
  };
  try {
    const data = path.join(root, 'data');
    await makeStore(data);
    for (const engine of opts.engines) record(engine, await engineCases(engine, data, root, maxTime));
    const segment = fs
      .readdirSync(path.join(data, 'index'))
      .filter((f) => f.startsWith('stream-'))
      .sort()[0];
    if (segment) {
      const file = path.join(data, 'index', segment);
      const present = Array.from({ length: STREAMS }, (_, i) => `stream-${i}`);
      const addon = nativeAddon();
      if (addon) {
        const r = new NativeSegmentBackend(addon).open(file);
        record('native', await bloomCases(r, present, maxTime));
        r.close();
      }
      const r = new JsSegmentBackend().open(file);
      if (r.header.kind === SEGMENT_KIND_STREAM) record('js', await bloomCases(r, present, maxTime));
      r.close();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  return [...rows.values()];
}

export function printMicro(rows: MicroRow[]): void {
  console.log('micro suites (benchmark.js): ops/s ± relative margin of error');
  console.log(`${'case'.padEnd(42)} ${'native'.padStart(16)} ${'js'.padStart(16)}  native/js`);
  const cell = (r: MicroRow, e: string) =>
    r.opsPerSec[e] === undefined ? '-' : `${Math.round(r.opsPerSec[e] as number)} ±${(r.rmePercent[e] as number).toFixed(0)}%`;
  for (const r of rows) {
    const n = r.opsPerSec.native;
    const j = r.opsPerSec.js;
    console.log(
      `${r.name.padEnd(42)} ${cell(r, 'native').padStart(16)} ${cell(r, 'js').padStart(16)}  ${n && j ? `${(n / j).toFixed(2)}x` : '-'}`,
    );
  }
  console.log('  (both engines probe Bloom filters in TypeScript: the native reader copies the filter once, so a miss costs no call)');
}
