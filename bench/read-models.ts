/**
 * Read-models bench: on one store, annals' category reads, filtered scans and stream listings
 * against SQLite serving the same queries from its own indexes, in the same process and minutes.
 *
 * - Category read: one category (a tenth of the events) read whole, in pages, by annals'
 *   readCategory and by SQLite's keyset pagination over an index on (category, position).
 * - Filtered scan: readAll with a filter matching 1% of events, in events examined per second,
 *   against an unfiltered readAll decoding every event.
 * - Stream listing: pages of 100 over every stream (S streams of one event each), annals'
 *   listStreams against SQLite's keyset pagination over its primary key.
 * - Open time of the store, to see it stays flat with the read models' segments.
 * Figures are best of `rounds` runs, each side measured alternately.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EngineName, EventStore } from '../lib/index.js';
import { payload } from './workload.js';

export interface ReadModelsResult {
  events: number;
  streams: number;
  engine: EngineName;
  categoryEventsPerSec: { annals: number; sqlite: number };
  filteredScan: { examinedPerSec: number; unfilteredDecodedPerSec: number; matched: number };
  listPagesPerSec: { annals: number; sqlite: number; streams: number };
  openMs: number;
}

const CATEGORIES = 10;
const TYPES = 100;

// biome-ignore lint/suspicious/noExplicitAny: better-sqlite3 is a bench-only peer loaded dynamically
type Db = any;

async function sqlite(file: string): Promise<Db> {
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  return db;
}

function timeIt(fn: () => number): { n: number; s: number } {
  const t = performance.now();
  const n = fn();
  return { n, s: (performance.now() - t) / 1000 };
}

async function timeAsync(fn: () => Promise<number>): Promise<{ n: number; s: number }> {
  const t = performance.now();
  const n = await fn();
  return { n, s: (performance.now() - t) / 1000 };
}

/** E events over S streams in CATEGORIES categories and TYPES types, in annals and in SQLite. */
async function fill(dir: string, engine: EngineName, events: number, streams: number, db: Db): Promise<void> {
  const s = await EventStore.open(path.join(dir, 'store'), { engine, durability: 'none' });
  db.exec(`CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, category TEXT NOT NULL,
    type TEXT NOT NULL, data TEXT NOT NULL);
    CREATE INDEX by_category ON events (category, position); CREATE INDEX by_type ON events (type, position);`);
  const insert = db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?)');
  const rows: [number, string, string, string, string][] = [];
  const flushRows = db.transaction(() => {
    for (const r of rows) insert.run(...r);
  });
  for (let i = 0; i < events; i += 100) {
    const items = Array.from({ length: 100 }, (_, k) => {
      const n = i + k;
      const category = `cat${n % CATEGORIES}`;
      return { streamId: `${category}-${(n * 7919) % streams}`, events: [{ type: `Type${n % TYPES}`, data: payload(n) }] };
    });
    const results = await s.appendMany(items, { atomic: false });
    results.forEach((r, k) => {
      const it = items[k] as (typeof items)[number];
      const e = it.events[0] as { type: string; data: unknown };
      if (!(r instanceof Error)) rows.push([r.position, it.streamId, it.streamId.split('-')[0] as string, e.type, JSON.stringify(e.data)]);
    });
    if (rows.length >= 10_000) {
      flushRows();
      rows.length = 0;
    }
  }
  flushRows();
  await s.close();
}

async function categoryRead(store: EventStore, db: Db): Promise<{ annals: number; sqlite: number }> {
  const annals = await timeAsync(async () => {
    let n = 0;
    for await (const _ of store.readCategory('cat3')) n++;
    return n;
  });
  const page = db.prepare(
    'SELECT position, stream, type, data FROM events WHERE category = ? AND position > ? ORDER BY position LIMIT 1000',
  );
  const lite = timeIt(() => {
    let n = 0;
    for (let after = 0; ; ) {
      const rows = page.all('cat3', after) as { position: number; data: string }[];
      if (rows.length === 0) return n;
      for (const r of rows) JSON.parse(r.data);
      n += rows.length;
      after = (rows[rows.length - 1] as { position: number }).position;
    }
  });
  return { annals: annals.n / annals.s, sqlite: lite.n / lite.s };
}

async function filteredScan(store: EventStore, events: number): Promise<ReadModelsResult['filteredScan']> {
  const filtered = await timeAsync(async () => {
    let n = 0;
    for await (const _ of store.readAll({ filter: { types: 'Type7' } })) n++;
    return n;
  });
  const all = await timeAsync(async () => {
    let n = 0;
    for await (const _ of store.readAll()) n++;
    return n;
  });
  return { examinedPerSec: events / filtered.s, unfilteredDecodedPerSec: all.n / all.s, matched: filtered.n };
}

async function listing(dir: string, engine: EngineName, streams: number): Promise<ReadModelsResult['listPagesPerSec']> {
  const s = await EventStore.open(path.join(dir, 'streams'), { engine, durability: 'none' });
  const db = await sqlite(path.join(dir, 'streams.db'));
  db.exec(
    'CREATE TABLE streams (stream TEXT PRIMARY KEY, version INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL) WITHOUT ROWID',
  );
  const insert = db.prepare('INSERT INTO streams VALUES (?, 1, ?, ?)');
  for (let i = 0; i < streams; i += 1000) {
    const items = Array.from({ length: Math.min(1000, streams - i) }, (_, k) => ({
      streamId: `s-${((i + k) * 7919) % streams}`,
      events: [{ type: 't' }],
    }));
    const results = await s.appendMany(items);
    db.transaction(() => {
      for (const [k, r] of results.entries())
        insert.run(items[k]?.streamId, (r as { position: number }).position, (r as { position: number }).position);
    })();
  }
  const page = db.prepare('SELECT stream, version, first, last FROM streams WHERE stream > ? ORDER BY stream LIMIT 100');
  let annals = { n: 0, s: Number.POSITIVE_INFINITY };
  let lite = { n: 0, s: Number.POSITIVE_INFINITY };
  // Pages from 2,000 places spread over the ids, each side warmed by the passes before its best.
  const starts = Array.from({ length: 2000 }, (_, k) => `s-${(k * 7919) % streams}`);
  for (let pass = 0; pass < 3; pass++) {
    const a = await timeAsync(async () => {
      for (const after of starts) await s.listStreams({ after, limit: 100 });
      return starts.length;
    });
    if (a.s < annals.s) annals = a;
    const l = timeIt(() => {
      for (const after of starts) page.all(after);
      return starts.length;
    });
    if (l.s < lite.s) lite = l;
  }
  await s.close();
  db.close();
  return { annals: annals.n / annals.s, sqlite: lite.n / lite.s, streams };
}

export async function runReadModels(o: { quick: boolean; engine: EngineName; rounds: number }): Promise<ReadModelsResult> {
  const events = o.quick ? 100_000 : 1_000_000;
  const streams = o.quick ? 10_000 : 100_000;
  const listStreamsCount = o.quick ? 100_000 : 1_000_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-read-models-'));
  try {
    const db = await sqlite(path.join(dir, 'events.db'));
    await fill(dir, o.engine, events, streams, db);
    const t = performance.now();
    const store = await EventStore.open(path.join(dir, 'store'), { engine: o.engine, readOnly: true });
    const openMs = performance.now() - t;
    const best = { cat: { annals: 0, sqlite: 0 }, scan: { examinedPerSec: 0, unfilteredDecodedPerSec: 0, matched: 0 } };
    // Warm: each side's first pass pays its first touches of the data (mapped pages here, the
    // database's own cache there), which the best of the passes leaves out on both sides.
    for (let r = 0; r < o.rounds + 2; r++) {
      const c = await categoryRead(store, db);
      best.cat = { annals: Math.max(best.cat.annals, c.annals), sqlite: Math.max(best.cat.sqlite, c.sqlite) };
      const f = await filteredScan(store, events);
      best.scan = {
        examinedPerSec: Math.max(best.scan.examinedPerSec, f.examinedPerSec),
        unfilteredDecodedPerSec: Math.max(best.scan.unfilteredDecodedPerSec, f.unfilteredDecodedPerSec),
        matched: f.matched,
      };
    }
    await store.close();
    db.close();
    const list = await listing(dir, o.engine, listStreamsCount);
    return { events, streams, engine: o.engine, categoryEventsPerSec: best.cat, filteredScan: best.scan, listPagesPerSec: list, openMs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function printReadModels(r: ReadModelsResult): string[] {
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const k = (n: number) => `${Math.round(n).toLocaleString('en-US')}`;
  const lines = [
    `read models (${r.engine}, ${r.events.toLocaleString('en-US')} events over ${r.streams.toLocaleString('en-US')} streams; open ${r.openMs.toFixed(1)} ms)`,
    `  category read: annals ${k(r.categoryEventsPerSec.annals)} events/s, SQLite (index on category, position) ${k(r.categoryEventsPerSec.sqlite)}: ${x(r.categoryEventsPerSec.annals, r.categoryEventsPerSec.sqlite)} (target >= 1.5x: ${r.categoryEventsPerSec.annals >= 1.5 * r.categoryEventsPerSec.sqlite ? 'PASS' : 'MISS'})`,
    `  filtered readAll matching ${((100 * r.filteredScan.matched) / r.events).toFixed(1)}%: ${k(r.filteredScan.examinedPerSec)} events examined/s, unfiltered ${k(r.filteredScan.unfilteredDecodedPerSec)} decoded/s: ${x(r.filteredScan.examinedPerSec, r.filteredScan.unfilteredDecodedPerSec)} (target >= 5x: ${r.filteredScan.examinedPerSec >= 5 * r.filteredScan.unfilteredDecodedPerSec ? 'PASS' : 'MISS'})`,
    `  listStreams over ${r.listPagesPerSec.streams.toLocaleString('en-US')} streams, pages of 100: annals ${k(r.listPagesPerSec.annals)} pages/s, SQLite keyset ${k(r.listPagesPerSec.sqlite)}: ${x(r.listPagesPerSec.annals, r.listPagesPerSec.sqlite)} (target >= 1.5x: ${r.listPagesPerSec.annals >= 1.5 * r.listPagesPerSec.sqlite ? 'PASS' : 'MISS'})`,
  ];
  for (const l of lines) console.log(l);
  return lines;
}
