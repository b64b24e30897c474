/**
 * Data-log bench: batched durable append per durability mode, native against JS, with
 * flush latency, and MB/s next to the disk's own sequential write speed measured in the same run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Durability, type EngineName, EventStore } from '../lib/index.js';
import { measureDisk } from './machine.js';
import { batch, percentile } from './workload.js';

export interface LogAppendRow {
  engine: EngineName;
  durability: Durability;
  inFlight: number;
  events: number;
  eventsPerSec: number;
  mbPerSec: number;
  flushes: number;
}

async function batched(engine: EngineName, durability: Durability, events: number, inFlight: number): Promise<LogAppendRow> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-bench-'));
  const store = await EventStore.open(dir, { engine, durability });
  const batches = events / 100;
  let next = 0;
  const t = performance.now();
  const worker = async () => {
    for (;;) {
      const b = next++;
      if (b >= batches) return;
      await store.append(`stream-${b % 1000}`, batch(b * 100, 100));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  if (durability !== 'sync') await store.flush();
  const seconds = (performance.now() - t) / 1000;
  const stats = await store.stats();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    engine,
    durability,
    inFlight,
    events,
    eventsPerSec: events / seconds,
    mbPerSec: stats.endPosition / (1 << 20) / seconds,
    flushes: stats.flushes,
  };
}

async function singleLatency(engine: EngineName, count: number): Promise<{ p50: number; p99: number; perSec: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-bench-'));
  const store = await EventStore.open(dir, { engine });
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await store.append(`s-${i % 100}`, batch(i, 1));
    lat.push(performance.now() - t);
  }
  const perSec = count / ((performance.now() - t0) / 1000);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), perSec };
}

export async function runLogAppend(opts: { quick: boolean; events: number; engines: EngineName[] }) {
  const disk = await measureDisk(os.tmpdir(), opts.quick);
  const rows: LogAppendRow[] = [];
  for (const durability of ['sync', 'interval', 'none'] as const) {
    for (const engine of opts.engines) {
      rows.push(await batched(engine, durability, opts.events, 1));
      if (durability === 'sync') rows.push(await batched(engine, durability, opts.events, 8));
    }
  }
  const latency: Record<string, { p50: number; p99: number; perSec: number }> = {};
  for (const engine of opts.engines) latency[engine] = await singleLatency(engine, opts.quick ? 500 : 2000);
  return { disk, rows, latency };
}

export function printLogAppend(r: Awaited<ReturnType<typeof runLogAppend>>): void {
  console.log(
    `disk: sequential write ${r.disk.seqWriteMBps.toFixed(0)} MB/s; append+fdatasync ${r.disk.appendFsyncOps.toFixed(0)}/s (${r.disk.offLoopAppendFsyncOps.toFixed(0)}/s with fdatasync on a worker thread); overwrite+fdatasync ${r.disk.overwriteFsyncOps.toFixed(0)}/s`,
  );
  console.log('engine  durability in-flight     events/s     MB/s  %disk  flushes');
  for (const row of r.rows) {
    console.log(
      `${row.engine.padEnd(7)} ${row.durability.padEnd(10)} ${String(row.inFlight).padStart(9)} ${row.eventsPerSec.toFixed(0).padStart(12)} ${row.mbPerSec.toFixed(1).padStart(8)} ${((100 * row.mbPerSec) / r.disk.seqWriteMBps).toFixed(0).padStart(5)}% ${String(row.flushes).padStart(8)}`,
    );
  }
  const byKey = (e: string, d: string, f: number) => r.rows.find((x) => x.engine === e && x.durability === d && x.inFlight === f);
  const n = byKey('native', 'sync', 1);
  const j = byKey('js', 'sync', 1);
  if (n && j) console.log(`native/js, batched sync append: ${(n.eventsPerSec / j.eventsPerSec).toFixed(2)}x`);
  for (const [engine, l] of Object.entries(r.latency)) {
    console.log(
      `${engine}: single durable append one at a time: ${l.perSec.toFixed(0)}/s (${(l.perSec / r.disk.appendFsyncOps).toFixed(2)}x disk append+fdatasync), p50 ${l.p50.toFixed(3)} ms, p99 ${l.p99.toFixed(3)} ms`,
    );
  }
}
