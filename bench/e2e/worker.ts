/**
 * One contender of the end-to-end workload, in its own process:
 *   node --expose-gc --import tsx bench/e2e/worker.ts <contender> <dir> <events> <streams> <quick>
 * Prints one JSON line: ops/s per phase, reopen time, bytes on disk, peak RSS.
 */

import { rssParts } from '../workload.js';
import { type BenchEvent, bytesIn, CONTENDERS, type Contender } from './contenders.js';
import { EventSource, inFlightEvents } from './events.js';

const [name, dir, eventsText, streamsText, quickText] = process.argv.slice(2) as [string, string, string, string, string];
const E = Number(eventsText);
const A = Number(streamsText);
const quick = quickText === '1';
const make = CONTENDERS[name];
if (!make) throw new Error(`unknown contender ${name}`);

let seed = 42;
const rand = (n: number) => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
};
const source = new EventSource();
const { versions } = source;
const event = (stream: string, i: number, commandId: string): BenchEvent => source.event(stream, i, commandId);

let peakAnon = 0;
let peakFile = 0;
function sampleRss(): void {
  const r = rssParts();
  if (!r) return;
  peakAnon = Math.max(peakAnon, r.anon);
  peakFile = Math.max(peakFile, r.file);
}

// ANNALS_BENCH_TRACE=1 prints each phase's time and the process's RSS to stderr (for profiling).
const trace = process.env.ANNALS_BENCH_TRACE === '1';
async function timed(n: number, fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  sampleRss();
  if (trace) {
    const m = process.memoryUsage();
    const mb = (v: number) => (v / 2 ** 20).toFixed(0);
    const r = rssParts();
    process.stderr.write(
      `phase ${ms.toFixed(0)} ms, ${(await store.traceLine?.()) ?? ''} rss ${mb(m.rss)} MB (anon ${mb(r?.anon ?? 0)}, file ${mb(r?.file ?? 0)}), heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB, array buffers ${mb(m.arrayBuffers)} MB\n`,
    );
  }
  return n / (ms / 1000);
}

async function inFlight(total: number, width: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < total; i = next++) await one(i);
    }),
  );
}

const results: Record<string, number> = {};
let store: Contender = make();
await store.open(dir);

const batches = E / 100;
results.batchAppend = await timed(E, async () => {
  for (let b = 0; b < batches; b++) {
    await store.appendBatch(Array.from({ length: 100 }, (_, k) => event(`stream-${(b * 100 + k) % A}`, b * 100 + k, `cmd-${b * 100 + k}`)));
  }
});
const E8 = inFlightEvents(E);
results.batchAppend8 = await timed(E8, () =>
  inFlight(E8 / 100, 8, (b) =>
    store.appendBatch(Array.from({ length: 100 }, (_, k) => source.fresh(`p8-${b}-${k}`, E + b * 100 + k, `p8-${b * 100 + k}`))),
  ),
);
const N1 = quick ? 500 : 2000;
// How long each call holds the JS thread before it returns its promise: what a request or timer
// of an application embedding the store waits behind one durable append (a store that syncs on
// the calling thread holds it for the whole sync).
const held: number[] = [];
results.singleAppend = await timed(N1, async () => {
  for (let i = 0; i < N1; i++) {
    const e = source.fresh(`single-${i}`, i, `single-${i}`);
    const t = performance.now();
    const appended = store.appendBatch([e]);
    held.push(performance.now() - t);
    await appended;
  }
});
held.sort((a, b) => a - b);
results.singleAppendHeldP99Us = (held[Math.floor(held.length * 0.99)] as number) * 1000;
const N64 = quick ? 2000 : 10_000;
results.singleAppend64 = await timed(N64, () => inFlight(N64, 64, (i) => store.appendBatch([source.fresh(`conc-${i}`, i, `conc-${i}`)])));

const R = quick ? 500 : 2000;
let read = 0;
const readRate = await timed(1, async () => {
  for (let i = 0; i < R; i++) read += (await store.readStream(`stream-${rand(A)}`)).length;
});
results.streamReadEvents = read * readRate;
// Read models (where the store has them), each beside the same query in plain SQL when given:
// a whole category (the in-flight batches' streams, `p8-*`), read three times; every stream listed.
async function readModelPhase(key: string, reps: number, run: (() => Promise<number>) | undefined): Promise<void> {
  if (!run) return;
  let n = 0;
  const rate = await timed(1, async () => {
    for (let k = 0; k < reps; k++) n += await run();
  });
  results[key] = n * rate;
}
await readModelPhase('categoryReadEvents', 3, store.readCategory && (() => (store.readCategory as (c: string) => Promise<number>)('p8')));
await readModelPhase(
  'sqlCategoryReadEvents',
  3,
  store.sqlReadCategory && (() => (store.sqlReadCategory as (c: string) => Promise<number>)('p8')),
);
await readModelPhase('listStreamsRate', 1, store.listStreams?.bind(store));
await readModelPhase('sqlListStreamsRate', 1, store.sqlListStreams?.bind(store));
const L = quick ? 20_000 : 100_000;
results.pointLookup = await timed(L, async () => {
  for (let i = 0; i < L; i++) {
    const s = `stream-${rand(A)}`;
    if (!(await store.readEvent(s, 1 + rand(versions.get(s) ?? 1)))) throw new Error(`missing event in ${s}`);
  }
});
// Absent lookups take ~0.2-5 us each: a fixed 50k was 10-15 ms for the fastest stores, which one
// collection or preemption could move by a tenth. Each of these two loops runs in rounds of 10k
// until it has done at least `la` and spent at least MIN_MS.
const la = quick ? 10_000 : 50_000;
const MIN_MS = quick ? 50 : 300;
async function rateOf(lookup: (i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  const t0 = performance.now();
  while (done < la || performance.now() - t0 < MIN_MS) {
    for (const end = done + 10_000; done < end; done++) if (await lookup(done)) throw new Error('absent command found');
  }
  const ms = performance.now() - t0;
  sampleRss();
  return done / (ms / 1000);
}
if (store.commandIds !== false) {
  results.commandLookup = await timed(L, async () => {
    for (let i = 0; i < L; i++) {
      const present = i % 2 === 0;
      const found = await store.readCommand(present ? `cmd-${rand(E)}` : `absent-${i}`);
      if (present !== Boolean(found)) throw new Error('command lookup answered wrongly');
    }
  });
  results.absentCommandLookup = await rateOf((i) => store.readCommand(`nope-${i}`));
}
// The same loop against a store that answers at once: what the id and the `await` alone allow.
const instant = async (_commandId: string): Promise<unknown> => undefined;
results.lookupLoopFloor = await rateOf((i) => instant(`nope-${i}`));
const externalBytes = store.bytesOnDisk ? await store.bytesOnDisk() : undefined;
await store.close();
const t = performance.now();
store = make();
await store.open(dir);
await store.readEvent('stream-1', 1);
results.reopenMs = performance.now() - t;
await store.close();
results.bytesOnDisk = externalBytes ?? bytesIn(dir);
results.peakRssBytes = process.resourceUsage().maxRSS * 1024;
if (peakAnon > 0) {
  results.peakAnonRssBytes = peakAnon;
  results.peakFileRssBytes = peakFile;
}
process.stdout.write(`${JSON.stringify(results)}\n`);
