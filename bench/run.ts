/**
 * `npm run bench [-- --quick] [--events N] [--pg-events N] [--rounds N] [--suite log-append|micro|index|read-models|scavenge|e2e|postgres|emmett|budget|flatness] [--scavenge-events N]`: runs the bench suites
 * and writes their JSON results to bench/results/. Figures are only meaningful as ratios within one run. `--rounds`:
 * end-to-end rounds, each phase reporting its best (default 2, 1 with --quick). `budget` (the e2e workload at
 * several memory budgets, bench/budget-sweep.ts) and `flatness` (memory as the store grows,
 * bench/memory-flatness.ts, a 10M-event store) run only when named.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineName } from '../lib/index.js';
import { nativeAddon } from '../lib/native.js';
import { formatBudgetSweep, runBudgetSweep } from './budget-sweep.js';
import { formatTable, PEERS, runE2E, targets } from './e2e.js';
import { formatPostgresTable, runPostgresE2E } from './e2e-postgres.js';
import { formatEmmettTable, runEmmettBench } from './emmett-bench.js';
import { printIndexBench, runIndexBench } from './index-bench.js';
import { printLogAppend, runLogAppend } from './log-append.js';
import { printFlatness, runFlatness } from './memory-flatness.js';
import { printMicro, runMicro } from './micro.js';
import { printReadModels, runReadModels } from './read-models.js';
import { printScavengeBench, runScavengeBench } from './scavenge-bench.js';
import { writeSummaryChart } from './summary-chart.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const events = Number(flag('--append-events') ?? (quick ? 50_000 : 200_000));
const suite = flag('--suite') ?? 'all';
const engines: EngineName[] = nativeAddon() ? ['native', 'js'] : ['js'];

const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, node ${process.version}`;
console.log(`annals bench, ${new Date().toISOString()}, ${machine}${quick ? ', quick' : ''}`);
const results: Record<string, unknown> = { date: new Date().toISOString(), machine, quick, events };

if (suite === 'all' || suite === 'log-append') {
  const r = await runLogAppend({ quick, events, engines });
  printLogAppend(r);
  results['log-append'] = r;
}

if (suite === 'all' || suite === 'micro') {
  const r = await runMicro({ quick, engines });
  printMicro(r);
  results.micro = r;
}

if (suite === 'all' || suite === 'index') {
  const r = await runIndexBench({ quick, engines, events: flag('--index-events') ? Number(flag('--index-events')) : undefined });
  printIndexBench(r);
  results.index = r;
}

if (suite === 'all' || suite === 'read-models') {
  const r = await runReadModels({ quick, engine: engines[0] as EngineName, rounds: quick ? 1 : 2 });
  results['read-models'] = { ...r, lines: printReadModels(r) };
}

if (suite === 'all' || suite === 'scavenge') {
  const n = flag('--scavenge-events');
  const r = await runScavengeBench({ quick, engines, events: n ? Number(n) : undefined });
  results.scavenge = { results: r, lines: printScavengeBench(r) };
}

if (suite === 'all' || suite === 'e2e') {
  const e2eEvents = Number(flag('--events') ?? (quick ? 100_000 : 1_000_000));
  const streams = Number(flag('--streams') ?? 10_000);
  const contenders = [...engines.map((e) => `annals-${e}`), ...PEERS];
  const rounds = Number(flag('--rounds') ?? (quick ? 1 : 2));
  console.log(
    `end-to-end workload: ${e2eEvents} events over ${streams} streams, each contender in its own process, ${rounds} round(s), best of them per phase`,
  );
  const { disk, results: r } = await runE2E({ events: e2eEvents, streams, quick, contenders, rounds });
  const table = formatTable(disk, r);
  console.log(table);
  // ~150-byte payload plus ids and framing: what one event costs the log.
  const checks = targets(disk, r, 260);
  for (const line of checks) console.log(line);
  results.e2e = { disk, results: r, targets: checks };
  // docs/benchmarks.md shows the latest full table: a --quick run (100k events) must not replace it.
  if (!quick) {
    const latest = path.join(import.meta.dirname, 'results', 'latest-e2e.md');
    fs.writeFileSync(
      latest,
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}, ${e2eEvents} events over ${streams} streams, best of ${rounds} round(s) per phase.\n\n${table}\n\n${checks.map((c) => `- ${c}`).join('\n')}\n`,
    );
    // The chart docs/benchmarks.md shows, redrawn from the same table.
    writeSummaryChart(latest, path.join(import.meta.dirname, '..', 'docs', 'bench-summary.svg'));
  }
}

if (suite === 'all' || suite === 'postgres') {
  const pgEvents = Number(flag('--pg-events') ?? (quick ? 20_000 : 100_000));
  const streams = Number(flag('--streams') ?? 10_000);
  const rounds = Number(flag('--rounds') ?? (quick ? 1 : 2));
  console.log(
    `PostgreSQL end-to-end workload: ${pgEvents} events over ${streams} streams, annals and Emmett on one server, ${rounds} round(s)`,
  );
  const r = await runPostgresE2E({ events: pgEvents, streams, quick, rounds });
  if (typeof r === 'string') console.log(`PostgreSQL workload ${r}`);
  else {
    const table = formatPostgresTable(r);
    console.log(table);
    results.postgres = r;
    if (!quick)
      fs.writeFileSync(
        path.join(import.meta.dirname, 'results', 'latest-postgres.md'),
        `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}, ${pgEvents} events over ${streams} streams, best of ${rounds} round(s) per phase.\n\n${table}\n`,
      );
  }
}

if (suite === 'all' || suite === 'emmett') {
  console.log(
    'Emmett command workload (aggregate, decide, append per command): emmett-sqlite and annals/emmett, beside the disk sync rate',
  );
  const r = await runEmmettBench({ quick, engines });
  const table = formatEmmettTable(r);
  console.log(table);
  results.emmett = r;
  if (!quick)
    fs.writeFileSync(
      path.join(import.meta.dirname, 'results', 'latest-emmett.md'),
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}, ${r.seconds} s per contender and in-flight level, best of ${r.rounds} rounds.\n\n${table}\n`,
    );
}

if (suite === 'budget') {
  const budgets = (flag('--budgets') ?? '16,24,32,48,64,1024').split(',').map(Number);
  const e2eEvents = Number(flag('--events') ?? (quick ? 100_000 : 1_000_000));
  const rounds = Number(flag('--rounds') ?? (quick ? 1 : 2));
  console.log(`memory budget sweep: ${budgets.join(', ')} MiB, ${e2eEvents} events, ${rounds} round(s), SQLite beside each round`);
  const r = runBudgetSweep({ budgets, events: e2eEvents, streams: Number(flag('--streams') ?? 10_000), rounds, quick });
  results.budget = { ...r, lines: formatBudgetSweep(r) };
}

if (suite === 'flatness') {
  const sizes = (flag('--flatness-events') ?? '1000000,10000000').split(',').map(Number);
  const budget = flag('--memory-budget') ? Number(flag('--memory-budget')) : undefined;
  console.log(`memory as the store grows: ${sizes.join(', ')} events, ${engines[0]} engine, budget ${budget ?? 'default'}`);
  const rows = runFlatness({ sizes, engine: engines[0] as EngineName, budget });
  results.flatness = { rows, lines: printFlatness(rows) };
}

const dir = path.join(import.meta.dirname, 'results');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, `bench-${Date.now()}.json`);
fs.writeFileSync(file, JSON.stringify(results, null, 2));
console.log(`results: ${path.relative(process.cwd(), file)}`);
