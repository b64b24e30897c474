/**
 * The end-to-end workload (bench/e2e/worker.ts) on PostgreSQL: annals' PostgresEventStore beside
 * Emmett's PostgreSQL event store, on the same server (started here from the machine's PostgreSQL
 * with its default durability, fsync on, unless ANNALS_BENCH_PG_URL names one), in the same run,
 * one after the other in each round, each phase at its best round. Ratios are annals to Emmett.
 */
// @ts-expect-error a plain ES module script without types
import { startPgServer } from '../scripts/pg-server.mjs';
import { type E2EResults, runWorker } from './e2e.js';

export const PG_CONTENDERS = ['annals-postgres', 'emmett-postgresql'];

const PHASES: [key: string, label: string, unit: string, higherIsBetter: boolean][] = [
  ['batchAppend', 'batched append (100/batch)', 'events/s', true],
  ['batchAppend8', 'same, 8 batches in flight', 'events/s', true],
  ['singleAppend', 'single append, one at a time', 'ops/s', true],
  ['singleAppend64', 'single append, 64 in flight', 'ops/s', true],
  ['streamReadEvents', 'full stream reads', 'events/s', true],
  ['categoryReadEvents', 'category read (whole category)', 'events/s', true],
  ['listStreamsRate', 'listStreams, 100 per page', 'streams/s', true],
  ['pointLookup', '(stream, version) lookups', 'ops/s', true],
  ['commandLookup', 'command-id lookups (half absent)', 'ops/s', true],
  ['absentCommandLookup', 'absent command-id lookups', 'ops/s', true],
  ['reopenMs', 'reopen', 'ms', false],
  ['bytesOnDisk', 'database size', 'MB', false],
  ['peakRssBytes', 'client peak RSS', 'MB', false],
];

/** annals' read models beside the same queries in plain SQL on its tables (Emmett has neither). */
const SQL_PHASES: [key: string, sqlKey: string, label: string, unit: string][] = [
  ['categoryReadEvents', 'sqlCategoryReadEvents', 'category read (whole category)', 'events/s'],
  ['listStreamsRate', 'sqlListStreamsRate', 'listStreams, 100 per page', 'streams/s'],
];

export async function runPostgresE2E(opts: {
  events: number;
  streams: number;
  quick: boolean;
  rounds: number;
}): Promise<E2EResults | string> {
  let server: { url: string; stop: () => void } | undefined;
  if (!process.env.ANNALS_BENCH_PG_URL) {
    try {
      server = await startPgServer({ fsync: true });
    } catch (err) {
      return `skipped: no PostgreSQL server (${(err as Error).message})`;
    }
    process.env.ANNALS_BENCH_PG_URL = server?.url;
  }
  try {
    const runs: E2EResults[] = [];
    for (let round = 0; round < opts.rounds; round++) {
      const results: E2EResults = {};
      for (const name of PG_CONTENDERS) {
        const r = runWorker(name, opts);
        if (r) results[name] = r;
        console.log(`  ${name} ${r ? 'done' : 'failed'}${opts.rounds > 1 ? ` (round ${round + 1} of ${opts.rounds})` : ''}`);
      }
      runs.push(results);
    }
    const best: E2EResults = {};
    for (const name of PG_CONTENDERS) {
      const mine = runs.map((r) => r[name]).filter((r): r is Record<string, number> => r !== undefined);
      if (mine.length === 0) continue;
      const out: Record<string, number> = {};
      const keys: [string, boolean][] = [
        ...PHASES.map(([k, , , h]): [string, boolean] => [k, h]),
        ...SQL_PHASES.map(([, k]): [string, boolean] => [k, true]),
      ];
      for (const [key, higher] of keys) {
        const vals = mine.map((r) => r[key]).filter((v): v is number => v !== undefined);
        if (vals.length > 0) out[key] = higher ? Math.max(...vals) : Math.min(...vals);
      }
      best[name] = out;
    }
    return best;
  } finally {
    if (server) {
      server.stop();
      delete process.env.ANNALS_BENCH_PG_URL;
    }
  }
}

function show(key: string, v: number | undefined): string {
  if (v === undefined) return '-';
  if (key === 'bytesOnDisk' || key.endsWith('RssBytes')) return (v / 2 ** 20).toFixed(1);
  if (key === 'reopenMs') return v.toFixed(1);
  return v >= 10_000 ? `${(v / 1000).toFixed(0)}k` : v.toFixed(0);
}

export function formatPostgresTable(results: E2EResults): string {
  const a = results['annals-postgres'];
  const e = results['emmett-postgresql'];
  const lines = ['| phase | unit | annals-postgres | emmett-postgresql | annals / emmett |', '|---|---|---:|---:|---:|'];
  for (const [key, label, unit, higher] of PHASES) {
    const x = a?.[key];
    const y = e?.[key];
    const ratio = x !== undefined && y !== undefined ? (higher ? x / y : y / x).toFixed(2) : '-';
    lines.push(`| ${label} | ${unit} | ${show(key, x)} | ${show(key, y)} | ${ratio}${ratio === '-' ? '' : 'x'} |`);
  }
  lines.push(
    '',
    "Same server, same run. Emmett appends one stream per transaction (a batch is one appendToStream per event, all in flight) and has no command ids, category reads or stream listings (its rows are '-'). Ratio > 1: annals better.",
    '',
    '| read model | unit | annals-postgres | plain SQL, same tables | annals / SQL |',
    '|---|---|---:|---:|---:|',
  );
  for (const [key, sqlKey, label, unit] of SQL_PHASES) {
    const x = a?.[key];
    const y = a?.[sqlKey];
    const ratio = x !== undefined && y !== undefined ? (x / y).toFixed(2) : '-';
    lines.push(`| ${label} | ${unit} | ${show(key, x)} | ${show(sqlKey, y)} | ${ratio}${ratio === '-' ? '' : 'x'} |`);
  }
  lines.push(
    '',
    'Plain SQL: the same keyset queries on the same indexes through one pg pool, payloads parsed, without the store (no global-order cut, no stream-metadata check): what the server gives. Ratio near 1: the store adds little.',
  );
  return lines.join('\n');
}
