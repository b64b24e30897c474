/**
 * `npm run soak [-- --minutes N] [--engine native|js]`: steady ingestion, reads and a live
 * subscription for a bounded time, printing throughput, memory and open file descriptors every
 * ten seconds; fails when descriptors grow or memory keeps growing after the warm-up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EngineName, EventStore } from '../lib/index.js';
import { payload, rssParts } from './workload.js';

const args = process.argv.slice(2);
const flag = (n: string) => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
const minutes = Number(flag('--minutes') ?? 3);
const engine = (flag('--engine') ?? 'native') as EngineName;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-soak-'));
const CHUNK = 64 << 20;
const store = await EventStore.open(dir, { engine, chunkSize: CHUNK, indexMemtableEntries: 200_000, retentionMs: 30_000 });
const fds = () => fs.readdirSync('/proc/self/fd').length;
// Resident memory is judged in two parts (rssParts): mapped pages are page cache that reads and
// merges touched, bounded by design (at most 8 sealed chunks mapped plus the tail, and the index
// segments, each mapped whole), and swing with what was read last; anonymous memory must level off.
/** What the process may have mapped now: 8 sealed chunks and the tail, every index segment, and
 * 128 MB for node's own binary and libraries. */
function mappedBoundMb(): number {
  const index = path.join(dir, 'index');
  let bytes = 9 * CHUNK + 128 * 2 ** 20;
  for (const name of fs.existsSync(index) ? fs.readdirSync(index) : []) {
    try {
      bytes += fs.statSync(path.join(index, name)).size;
    } catch {
      // replaced by a merge meanwhile
    }
  }
  return bytes / 2 ** 20;
}
const samples: {
  t: number;
  events: number;
  rss: number;
  anon: number;
  file: number;
  bound: number;
  heap: number;
  buffers: number;
  fds: number;
}[] = [];
let written = 0;
let received = 0;
let stop = false;

const sub = store.subscribe();
const subscriber = (async () => {
  for await (const _ of sub) received++;
})();
const writer = (async () => {
  let i = 0;
  while (!stop) {
    const batch = Array.from({ length: 50 }, (_, k) => ({ type: 'Placed', data: payload(i + k) }));
    await store.append(`soak-${i % 5000}`, batch, { commandId: `soak-${i}` });
    written += 50;
    i += 50;
  }
})();
const reader = (async () => {
  let n = 0;
  while (!stop) {
    await store.readStream(`soak-${(n * 7919) % 5000}`, { direction: 'backward', limit: 100 });
    await store.readCommand(`soak-${n * 50}`);
    n++;
    await new Promise((r) => setTimeout(r, 1));
  }
})();

const started = Date.now();
console.log(`soak: ${minutes} min, ${engine} engine, ${dir}`);
console.log('   s      events   events/s   RSS MB  anon MB  file MB  heap MB  bufs MB  fds  subscribed');
let lastEvents = 0;
while (Date.now() - started < minutes * 60_000) {
  await new Promise((r) => setTimeout(r, 10_000));
  // The live heap (after a full GC), not the young generation's sawtooth; and the array buffers,
  // where the index dictionaries live off the heap, so a leak there shows too.
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const parts = rssParts();
  const s = {
    t: (Date.now() - started) / 1000,
    events: written,
    rss: m.rss / 2 ** 20,
    anon: (parts?.anon ?? Number.NaN) / 2 ** 20,
    file: (parts?.file ?? Number.NaN) / 2 ** 20,
    bound: mappedBoundMb(),
    heap: m.heapUsed / 2 ** 20,
    buffers: m.arrayBuffers / 2 ** 20,
    fds: fds(),
  };
  samples.push(s);
  console.log(
    `${s.t.toFixed(0).padStart(4)} ${String(s.events).padStart(11)} ${((s.events - lastEvents) / 10).toFixed(0).padStart(10)} ${s.rss.toFixed(0).padStart(8)} ${s.anon.toFixed(0).padStart(8)} ${s.file.toFixed(0).padStart(8)} ${s.heap.toFixed(0).padStart(8)} ${s.buffers.toFixed(0).padStart(8)} ${String(s.fds).padStart(4)} ${String(received).padStart(11)}`,
  );
  lastEvents = s.events;
}
stop = true;
await Promise.all([writer, reader]);
sub.close();
await subscriber;
await store.close();
fs.rmSync(dir, { recursive: true, force: true });

// After a warm-up third, heap, array buffers, anonymous memory and descriptors must level off: the
// highest value of the last third may exceed the highest of the middle third by 30% (memory) or 16
// descriptors (chunk and segment files come and go within their bounds). Mapped file pages must
// stay within the mapping bound; where /proc gives no split, total RSS is judged like anon.
const third = Math.floor(samples.length / 3);
if (third === 0) {
  console.log('soak too short to judge');
  process.exit(0);
}
type Measure = 'heap' | 'rss' | 'anon' | 'file' | 'buffers' | 'fds';
const peak = (from: number, to: number, k: Measure) => Math.max(...samples.slice(from, to).map((x) => x[k]));
const peaks = (from: number, to: number) =>
  Object.fromEntries((['heap', 'rss', 'anon', 'file', 'buffers', 'fds'] as const).map((k) => [k, peak(from, to, k)])) as Record<
    Measure,
    number
  >;
const mid = peaks(third, 2 * third);
const end = peaks(2 * third, samples.length);
const split = !Number.isNaN(end.anon);
// Small values get an absolute slack too: 30% of a 25 MB heap is within what one retained batch moves.
const levels = (a: number, b: number) => b <= Math.max(a * 1.3, a + 16);
const withinMapping = samples.every((s) => s.file <= s.bound);
const memory = split ? end.anon <= mid.anon * 1.3 && withinMapping : end.rss <= mid.rss * 1.3;
const verdict = levels(mid.heap, end.heap) && levels(mid.buffers, end.buffers) && memory && end.fds <= mid.fds + 16;
console.log(
  `peaks, middle third -> last third: heap ${mid.heap.toFixed(0)} -> ${end.heap.toFixed(0)} MB, array buffers ${mid.buffers.toFixed(0)} -> ${end.buffers.toFixed(0)} MB, anonymous ${mid.anon.toFixed(0)} -> ${end.anon.toFixed(0)} MB, mapped files at most ${peak(0, samples.length, 'file').toFixed(0)} MB (${withinMapping ? 'within' : 'PAST'} what may be mapped: chunks and index segments), RSS ${mid.rss.toFixed(0)} -> ${end.rss.toFixed(0)} MB, fds ${mid.fds} -> ${end.fds}: ${verdict ? 'levels off' : 'GROWS'}`,
);
process.exit(verdict ? 0 : 1);
