/**
 * The scavenge suite: a store where half the events were deleted (every other stream of the
 * ~150-byte payload workload, soft-deleted), copied once, then scavenged twice: the copy alone (no
 * other work), the original while single durable appends go on. Ratios against figures of the same
 * run: bytes reclaimed against the deleted events' own frame bytes (from their positions), each
 * scavenge's throughput (chunk bytes examined per second of its whole duration) against the disk's
 * sequential write rate (machine.ts), and the append rate during the scavenge against the same loop
 * without it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EngineName, EventStore, type ScavengeReport } from '../lib/index.js';
import { measureDisk } from './machine.js';
import { payload } from './workload.js';

const STREAMS = 1000;
const BATCH = 500;
const IN_FLIGHT = 16;
/** The index's memtable size: a scavenge first builds the memtable into index files (on the event
 * loop in the JS engine), which a plausible size keeps short. */
const MEMTABLE = 100_000;

export interface ScavengeBenchResult {
  engine: EngineName;
  events: number;
  seqWriteMBps: number;
  deletedBytes: number;
  bytesReclaimed: number;
  reclaimedRatio: number;
  diskBytesBefore: number;
  diskBytesAfter: number;
  /** The scavenge of the copy, with nothing else running. */
  aloneMBps: number;
  aloneVsDisk: number;
  aloneMs: number;
  /** The scavenge during appends. */
  scavengeMBps: number;
  scavengeVsDisk: number;
  appendsWithout: number;
  appendsDuring: number;
  appendRatio: number;
  durationMs: number;
}

async function fill(store: EventStore, events: number): Promise<void> {
  for (let i = 0; i < events; i += BATCH) {
    const items = [];
    for (let k = i; k < Math.min(events, i + BATCH); k++)
      items.push({ streamId: `order-${k % STREAMS}`, events: [{ type: 'OrderPlaced', data: payload(k) }] });
    await store.appendMany(items);
  }
}

/** A batch of events of odd (kept) streams. */
async function fillKept(store: EventStore): Promise<void> {
  await store.appendMany(
    Array.from({ length: BATCH }, (_, k) => ({
      streamId: `order-${2 * (k % (STREAMS / 2)) + 1}`,
      events: [{ type: 'OrderPlaced', data: payload(k) }],
    })),
  );
}

/** Frame bytes of the events of the even streams (the ones deleted), from the log's positions. */
async function bytesOfEvenStreams(store: EventStore): Promise<number> {
  let bytes = 0;
  let prev: { position: number; even: boolean } | undefined;
  for await (const e of store.readAll()) {
    if (prev?.even && e.position - prev.position < 1 << 20) bytes += e.position - prev.position;
    prev = { position: e.position, even: Number(e.streamId.slice(6)) % 2 === 0 && e.streamId.startsWith('order-') };
  }
  return bytes;
}

/** Single durable appends, IN_FLIGHT at a time, until `until()` is true; appends per second. */
async function appendLoop(store: EventStore, until: () => boolean, tag: string): Promise<number> {
  let n = 0;
  const t = performance.now();
  const worker = async (w: number) => {
    while (!until()) {
      await store.append(`live-${tag}-${w}`, [{ type: 'Live', data: payload(n) }]);
      n++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
  return n / ((performance.now() - t) / 1000);
}

function syncTree(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) syncTree(p);
    else if (e.isFile()) {
      const fd = fs.openSync(p, 'r');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }
  }
}

function allocated(dir: string): number {
  let bytes = 0;
  for (const name of fs.readdirSync(dir)) bytes += fs.statSync(path.join(dir, name)).blocks * 512;
  return bytes;
}

export async function runScavengeBench(o: { quick: boolean; engines: EngineName[]; events?: number }): Promise<ScavengeBenchResult[]> {
  const events = o.events ?? (o.quick ? 200_000 : 1_000_000);
  const chunkSize = (o.quick ? 16 : 64) << 20;
  const out: ScavengeBenchResult[] = [];
  for (const engine of o.engines) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-scavenge-bench-'));
    try {
      const disk = await measureDisk(dir, o.quick);
      let store = await EventStore.open(dir, { engine, chunkSize, indexMemtableEntries: MEMTABLE });
      await fill(store, events);
      const deletedBytes = await bytesOfEvenStreams(store);
      // Events of kept streams after them, until the log rolls into a new chunk: every deleted
      // event then lies in a sealed chunk, which is all a scavenge rewrites.
      const chunks = (await store.stats()).chunkCount;
      while ((await store.stats()).chunkCount === chunks) await fillKept(store);
      for (let s = 0; s < STREAMS; s += 2) await store.deleteStream(`order-${s}`);
      await store.close();
      const copy = `${dir}-copy`;
      fs.cpSync(dir, copy, { recursive: true });
      // On disk before it is scavenged: no writeback of the copy runs under the scavenge.
      syncTree(copy);
      let alone: ScavengeReport;
      try {
        const c = await EventStore.open(copy, { engine, chunkSize, indexMemtableEntries: MEMTABLE });
        alone = await c.scavenge();
        await c.close();
      } finally {
        fs.rmSync(copy, { recursive: true, force: true });
      }
      store = await EventStore.open(dir, { engine, chunkSize, indexMemtableEntries: MEMTABLE });
      const diskBytesBefore = allocated(path.join(dir, 'chunks'));
      const baselineEnd = performance.now() + (o.quick ? 1500 : 3000);
      const appendsWithout = await appendLoop(store, () => performance.now() > baselineEnd, 'a');
      let done = false;
      const scavenging = store.scavenge().finally(() => {
        done = true;
      });
      const appendsDuring = await appendLoop(store, () => done, 'b');
      const report = await scavenging;
      await store.close();
      const diskBytesAfter = allocated(path.join(dir, 'chunks'));
      const aloneMBps = alone.bytesBefore / 1e6 / (alone.durationMs / 1000);
      const scavengeMBps = report.bytesBefore / 1e6 / (report.durationMs / 1000);
      out.push({
        engine,
        events,
        seqWriteMBps: disk.seqWriteMBps,
        deletedBytes,
        bytesReclaimed: report.bytesReclaimed,
        reclaimedRatio: report.bytesReclaimed / deletedBytes,
        diskBytesBefore,
        diskBytesAfter,
        aloneMBps,
        aloneVsDisk: aloneMBps / disk.seqWriteMBps,
        aloneMs: alone.durationMs,
        scavengeMBps,
        scavengeVsDisk: scavengeMBps / disk.seqWriteMBps,
        appendsWithout,
        appendsDuring,
        appendRatio: appendsDuring / appendsWithout,
        durationMs: report.durationMs,
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

export function printScavengeBench(results: ScavengeBenchResult[]): string[] {
  const lines = results.map(
    (r) =>
      `scavenge (${r.engine}, ${r.events} events, half deleted): reclaimed ${(r.bytesReclaimed / 1e6).toFixed(1)} MB of ${(r.deletedBytes / 1e6).toFixed(1)} MB deleted (${(100 * r.reclaimedRatio).toFixed(1)}%, target >= 95%); ` +
      `chunks on disk ${(r.diskBytesBefore / 1e6).toFixed(1)} -> ${(r.diskBytesAfter / 1e6).toFixed(1)} MB; ` +
      `scavenged alone at ${r.aloneMBps.toFixed(0)} MB/s of chunks (${(r.aloneMs / 1000).toFixed(2)} s) = ${(100 * r.aloneVsDisk).toFixed(0)}% and during appends at ${r.scavengeMBps.toFixed(0)} MB/s (${(r.durationMs / 1000).toFixed(2)} s) = ${(100 * r.scavengeVsDisk).toFixed(0)}% of the disk's sequential write ${r.seqWriteMBps.toFixed(0)} MB/s (target >= 50%); ` +
      `appends ${r.appendsDuring.toFixed(0)}/s during vs ${r.appendsWithout.toFixed(0)}/s without = ${(100 * r.appendRatio).toFixed(0)}% (target >= 70%)`,
  );
  for (const l of lines) console.log(l);
  return lines;
}
