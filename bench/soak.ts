/**
 * `npm run soak [-- --minutes N] [--engine native|js]`: steady ingestion, reads and a live
 * subscription for a bounded time, printing throughput, memory and open file descriptors every
 * ten seconds; fails when descriptors grow or memory keeps growing after the warm-up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EngineName, EventStore } from '../lib/index.js';
import { payload } from './workload.js';

const args = process.argv.slice(2);
const flag = (n: string) => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
const minutes = Number(flag('--minutes') ?? 3);
const engine = (flag('--engine') ?? 'native') as EngineName;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-soak-'));
const store = await EventStore.open(dir, { engine, chunkSize: 64 << 20, indexMemtableEntries: 200_000, retentionMs: 30_000 });
const fds = () => fs.readdirSync('/proc/self/fd').length;
const samples: { t: number; events: number; rss: number; heap: number; buffers: number; fds: number }[] = [];
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
console.log('   s      events   events/s   RSS MB  heap MB  bufs MB  fds  subscribed');
let lastEvents = 0;
while (Date.now() - started < minutes * 60_000) {
  await new Promise((r) => setTimeout(r, 10_000));
  // The live heap (after a full GC), not the young generation's sawtooth; and the array buffers,
  // where the index dictionaries live off the heap, so a leak there shows too.
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const s = {
    t: (Date.now() - started) / 1000,
    events: written,
    rss: m.rss / 2 ** 20,
    heap: m.heapUsed / 2 ** 20,
    buffers: m.arrayBuffers / 2 ** 20,
    fds: fds(),
  };
  samples.push(s);
  console.log(
    `${s.t.toFixed(0).padStart(4)} ${String(s.events).padStart(11)} ${((s.events - lastEvents) / 10).toFixed(0).padStart(10)} ${s.rss.toFixed(0).padStart(8)} ${s.heap.toFixed(0).padStart(8)} ${s.buffers.toFixed(0).padStart(8)} ${String(s.fds).padStart(4)} ${String(received).padStart(11)}`,
  );
  lastEvents = s.events;
}
stop = true;
await Promise.all([writer, reader]);
sub.close();
await subscriber;
await store.close();
fs.rmSync(dir, { recursive: true, force: true });

// After a warm-up third, heap, RSS and descriptors must level off: the highest value of the last
// third may exceed the highest of the middle third by 30% (memory) or 16 descriptors (chunk and
// segment files come and go within their bounds).
const third = Math.floor(samples.length / 3);
if (third === 0) {
  console.log('soak too short to judge');
  process.exit(0);
}
const peak = (from: number, to: number, k: 'heap' | 'rss' | 'buffers' | 'fds') => Math.max(...samples.slice(from, to).map((x) => x[k]));
const mid = {
  heap: peak(third, 2 * third, 'heap'),
  rss: peak(third, 2 * third, 'rss'),
  buffers: peak(third, 2 * third, 'buffers'),
  fds: peak(third, 2 * third, 'fds'),
};
const end = {
  heap: peak(2 * third, samples.length, 'heap'),
  rss: peak(2 * third, samples.length, 'rss'),
  buffers: peak(2 * third, samples.length, 'buffers'),
  fds: peak(2 * third, samples.length, 'fds'),
};
// Small values get an absolute slack too: 30% of a 25 MB heap is within what one retained batch moves.
const levels = (a: number, b: number) => b <= Math.max(a * 1.3, a + 16);
const verdict = levels(mid.heap, end.heap) && levels(mid.buffers, end.buffers) && end.rss <= mid.rss * 1.3 && end.fds <= mid.fds + 16;
console.log(
  `peaks, middle third -> last third: heap ${mid.heap.toFixed(0)} -> ${end.heap.toFixed(0)} MB, array buffers ${mid.buffers.toFixed(0)} -> ${end.buffers.toFixed(0)} MB, RSS ${mid.rss.toFixed(0)} -> ${end.rss.toFixed(0)} MB, fds ${mid.fds} -> ${end.fds}: ${verdict ? 'levels off' : 'GROWS'}`,
);
process.exit(verdict ? 0 : 1);
