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
const samples: { t: number; events: number; rss: number; heap: number; fds: number }[] = [];
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
console.log('   s      events   events/s   RSS MB  heap MB  fds  subscribed');
let lastEvents = 0;
while (Date.now() - started < minutes * 60_000) {
  await new Promise((r) => setTimeout(r, 10_000));
  const m = process.memoryUsage();
  const s = { t: (Date.now() - started) / 1000, events: written, rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20, fds: fds() };
  samples.push(s);
  console.log(
    `${s.t.toFixed(0).padStart(4)} ${String(s.events).padStart(11)} ${((s.events - lastEvents) / 10).toFixed(0).padStart(10)} ${s.rss.toFixed(0).padStart(8)} ${s.heap.toFixed(0).padStart(8)} ${String(s.fds).padStart(4)} ${String(received).padStart(11)}`,
  );
  lastEvents = s.events;
}
stop = true;
await Promise.all([writer, reader]);
sub.close();
await subscriber;
await store.close();
fs.rmSync(dir, { recursive: true, force: true });

// After a warm-up third, memory and descriptors must level off: the last sample may not exceed the
// middle one by more than a quarter (heap) or at all (fds, beyond chunk files opened meanwhile).
const mid = samples[Math.floor(samples.length / 2)];
const last = samples[samples.length - 1];
if (!mid || !last) {
  console.log('soak too short to judge');
  process.exit(0);
}
const heapGrowth = last.heap / mid.heap;
const verdict = heapGrowth < 1.25 && last.fds <= mid.fds + 4;
console.log(
  `heap ${mid.heap.toFixed(0)} -> ${last.heap.toFixed(0)} MB (${heapGrowth.toFixed(2)}x), fds ${mid.fds} -> ${last.fds}: ${verdict ? 'levels off' : 'GROWS'}`,
);
process.exit(verdict ? 0 : 1);
