/**
 * The `emmett` suite: one Emmett command workload (CommandHandler: aggregate the stream, decide,
 * append with the aggregated version as expected version) on emmett-sqlite and on annals/emmett
 * (each engine), with 1 and with 16 commands in flight, beside the disk's own sync rate measured
 * in the same run. One durable append per command bounds every store with one command in flight;
 * with 16, a store that shares one flush between appends can pass the disk's rate.
 *
 * emmett-sqlite needs the sqlite3 native module, whose install script npm does not run here: when
 * it cannot load, its row is skipped with the reason (`npm rebuild sqlite3` builds it).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CommandHandler, type Event, type EventStore, isExpectedVersionConflictError } from '@event-driven-io/emmett';
import { getAnnalsEventStore } from '../lib/emmett/index.js';
import type { EngineName } from '../lib/index.js';
import { measureDisk } from './machine.js';

type ItemAdded = Event<'ItemAdded', { sku: string; qty: number; note: string }>;
type Cart = { items: number; lines: number };

const initialState = (): Cart => ({ items: 0, lines: 0 });
const evolve = (s: Cart, e: ItemAdded): Cart => ({ items: s.items + e.data.qty, lines: s.lines + 1 });
const onVersionConflict = { retries: 100, minTimeout: 1, maxTimeout: 5, randomize: true, shouldRetryError: isExpectedVersionConflictError };
const handle = CommandHandler<Cart, ItemAdded>({ evolve, initialState, retry: { onVersionConflict } });
/** Streams each in-flight worker cycles through: a stream is never written by two workers. */
const STREAMS_PER_WORKER = 64;
export const IN_FLIGHT = [1, 16];

export interface EmmettRow {
  contender: string;
  /** Commands per second by commands in flight; a string says why the contender did not run. */
  rates: Record<number, number> | string;
}

export interface EmmettBenchResult {
  diskSyncOps: number;
  seconds: number;
  rounds: number;
  rows: EmmettRow[];
}

interface Contender {
  store: EventStore;
  close(): Promise<void>;
  /** Commands run one at a time, queued in this process. */
  serialize?: boolean;
}

/**
 * emmett-sqlite on one connection (sqliteConnection, passed as the pool's singleton): its default,
 * a connection per operation, ran at about half the rate and failed under concurrent writers
 * (SQLITE_BUSY, then an uncaught rollback error). One connection cannot hold two transactions, so
 * its commands go through an in-process queue, one at a time: SQLite has one writer anyway, and
 * the queue is its best case, without busy retries.
 */
async function sqliteContender(dir: string): Promise<Contender> {
  // Loaded first on its own: a missing native module then throws here, not later from inside
  // emmett-sqlite's import where it escapes as an uncaught error.
  createRequire(import.meta.url)('sqlite3');
  const sqlite = await import('@event-driven-io/emmett-sqlite');
  const fileName = path.join(dir, 'emmett.sqlite');
  const connection = sqlite.sqliteConnection({ fileName });
  const store = sqlite.getSQLiteEventStore({ fileName, connectionOptions: { singleton: true, connection } });
  return { store, close: async () => connection.close(), serialize: true };
}

function annalsContender(dir: string, engine: EngineName): Contender {
  const store = getAnnalsEventStore({ directory: dir, engine });
  return { store, close: () => store.close() };
}

/** Commands per second with `inFlight` workers, each on its own streams, for `seconds`. */
async function commandRate(c: Contender, inFlight: number, seconds: number, tag: string): Promise<number> {
  const { store } = c;
  let done = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const run = <T>(f: () => Promise<T>): Promise<T> => {
    if (!c.serialize) return f();
    const turn = queue.then(f);
    queue = turn.catch(() => {});
    return turn;
  };
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async (w: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const id = `cart-${tag}-${w}-${i % STREAMS_PER_WORKER}`;
      await run(() =>
        handle(store, id, (state) => ({ type: 'ItemAdded', data: { sku: `sku-${state.lines}`, qty: 1 + (i % 3), note: 'x'.repeat(40) } })),
      );
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
  return done / ((performance.now() - start) / 1000);
}

/** One round of one contender: commands per second at each in-flight level, on a fresh store. */
async function measure(name: string, open: (dir: string) => Promise<Contender>, seconds: number): Promise<EmmettRow> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `annals-emmett-${name}-`));
  let c: Contender | undefined;
  try {
    c = await open(dir);
    await commandRate(c, 1, 0.2, 'warmup'); // schema creation, first open
  } catch (err) {
    // emmett-sqlite without its sqlite3 native module fails here, at import or first use.
    await c?.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
    const why = (err as Error).message.split('\n')[0];
    return { contender: name, rates: `skipped: ${why} (docs/emmett.md: building sqlite3 for the bench)` };
  }
  try {
    const rates: Record<number, number> = {};
    for (const n of IN_FLIGHT) rates[n] = await commandRate(c, n, seconds, `f${n}`);
    return { contender: name, rates };
  } finally {
    await c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The better of two rounds' rates, level by level (the disk's rate moves on a shared machine). */
function best(a: EmmettRow | undefined, b: EmmettRow): EmmettRow {
  if (a === undefined || typeof a.rates === 'string') return b;
  if (typeof b.rates === 'string') return a;
  const rates: Record<number, number> = {};
  for (const n of IN_FLIGHT) rates[n] = Math.max(a.rates[n] ?? 0, b.rates[n] ?? 0);
  return { contender: b.contender, rates };
}

/**
 * Rounds of every contender in turn, each keeping its best per level; the disk's sync rate is
 * probed before and after, and the better of its on-loop rates (200-byte append or overwrite, each
 * followed by fdatasync) is the bar: one durable write per command cannot beat it for long.
 */
export async function runEmmettBench(opts: { quick: boolean; engines: EngineName[] }): Promise<EmmettBenchResult> {
  const seconds = opts.quick ? 1.5 : 3;
  const rounds = opts.quick ? 1 : 2;
  const contenders: [string, (dir: string) => Promise<Contender>][] = [
    ['emmett-sqlite', sqliteContender],
    ...opts.engines.map((e): [string, (dir: string) => Promise<Contender>] => [`annals-${e}`, async (dir) => annalsContender(dir, e)]),
  ];
  const probe = async () => {
    const d = await measureDisk(os.tmpdir(), true);
    return Math.max(d.appendFsyncOps, d.overwriteFsyncOps);
  };
  let diskSyncOps = await probe();
  const rows = new Map<string, EmmettRow>();
  for (let r = 0; r < rounds; r++) {
    for (const [name, open] of contenders) rows.set(name, best(rows.get(name), await measure(name, open, seconds)));
  }
  diskSyncOps = Math.max(diskSyncOps, await probe());
  return { diskSyncOps, seconds, rounds, rows: [...rows.values()] };
}

export function formatEmmettTable(r: EmmettBenchResult): string {
  const sqlite = r.rows[0]?.rates;
  const lines = [
    `| store | cmds/s, 1 in flight | x emmett-sqlite | x disk sync rate | cmds/s, 16 in flight | x emmett-sqlite |`,
    '|---|---:|---:|---:|---:|---:|',
  ];
  const ratio = (a: number, b: number | undefined) => (b === undefined ? 'n/a' : `${(a / b).toFixed(1)}x`);
  for (const row of r.rows) {
    if (typeof row.rates === 'string') {
      lines.push(`| ${row.contender} | ${row.rates} | | | | |`);
      continue;
    }
    const [one, many] = [row.rates[1] ?? 0, row.rates[16] ?? 0];
    const base = typeof sqlite === 'object' ? sqlite : undefined;
    lines.push(
      `| ${row.contender} | ${one.toFixed(0)} | ${ratio(one, base?.[1])} | ${(one / r.diskSyncOps).toFixed(2)}x | ${many.toFixed(0)} | ${ratio(many, base?.[16])} |`,
    );
  }
  lines.push(`| disk: 200-byte write + fdatasync, best probe | ${r.diskSyncOps.toFixed(0)} /s | | 1.00x | | |`);
  return lines.join('\n');
}
