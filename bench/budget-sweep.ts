/**
 * The memory budget's effect on the end-to-end workload (`npm run bench -- --suite budget
 * [--budgets 16,32,64] [--rounds N] [--events N]`): annals native at each budget (MiB), every
 * one in its own process, interleaved with SQLite (normal sync, the lowest peer in anonymous
 * memory) in each round, so a slow minute of a shared machine falls on every column alike. Each
 * phase reports its best round. Rows: budget; columns: anonymous peak, its ratio to SQLite's in
 * the same run, then each phase's speed as a ratio to the old defaults' (1 GiB: every part at its former
 * fixed default; maxIndexSegments 16 given, so segments merge only past it, as before tiers).
 */
import { PHASE_KEYS, runWorker } from './e2e.js';

const MiB = 2 ** 20;
/** The reference row's key in the results. */
const OLD = 'old';
/** Store options of the old defaults' row: every part at its former default, merges as before. */
const OLD_OPTIONS = { memoryBudget: 1024 * MiB, maxIndexSegments: 16 };

export interface BudgetSweep {
  budgets: number[];
  /** Per budget (MiB, as a string), for the old defaults ('old') and for 'sqlite-normal': each
   * phase's best round. */
  results: Record<string, Record<string, number>>;
}

function best(runs: Record<string, number>[], key: string, higher: boolean): number | undefined {
  const vals = runs.map((r) => r[key]).filter((v): v is number => v !== undefined);
  if (vals.length === 0) return undefined;
  return higher ? Math.max(...vals) : Math.min(...vals);
}

export function runBudgetSweep(opts: { budgets: number[]; events: number; streams: number; rounds: number; quick: boolean }): BudgetSweep {
  const runs: Record<string, Record<string, number>[]> = {};
  const record = (key: string, r: Record<string, number> | undefined) => {
    if (!r) return;
    runs[key] ??= [];
    runs[key].push(r);
  };
  for (let round = 0; round < opts.rounds; round++) {
    record('sqlite-normal', runWorker('sqlite-normal', opts));
    for (const b of [...opts.budgets, OLD]) {
      const options = b === OLD ? OLD_OPTIONS : { memoryBudget: Number(b) * MiB };
      process.env.ANNALS_BENCH_STORE_OPTIONS = JSON.stringify(options);
      try {
        record(String(b), runWorker('annals-native', opts));
      } finally {
        delete process.env.ANNALS_BENCH_STORE_OPTIONS;
      }
      console.log(`  ${b === OLD ? 'old defaults' : `${b} MiB`} done (round ${round + 1} of ${opts.rounds})`);
    }
  }
  const results: BudgetSweep['results'] = {};
  for (const [key, mine] of Object.entries(runs)) {
    results[key] = {};
    for (const [k, higher] of PHASE_KEYS) {
      const v = best(mine, k, higher);
      if (v !== undefined) (results[key] as Record<string, number>)[k] = v;
    }
  }
  return { budgets: opts.budgets, results };
}

/** The phases the table shows, as ratios to the largest budget's. */
const SHOWN: [key: string, label: string][] = [
  ['batchAppend', 'batched'],
  ['batchAppend8', '8 in flight'],
  ['singleAppend', 'single'],
  ['singleAppend64', '64 in flight'],
  ['streamReadEvents', 'stream reads'],
  ['pointLookup', 'lookups'],
  ['commandLookup', 'command ids'],
  ['absentCommandLookup', 'absent ids'],
  ['reopenMs', 'reopen'],
];

export function formatBudgetSweep(s: BudgetSweep): string[] {
  const sqlite = s.results['sqlite-normal']?.peakAnonRssBytes;
  const top = s.results[OLD] ?? {};
  const lines = [
    `| memoryBudget | anonymous peak (MB) | ÷ SQLite's | ${SHOWN.map(([, l]) => l).join(' | ')} |`,
    `|---|---|---|${SHOWN.map(() => '---').join('|')}|`,
  ];
  for (const b of [...s.budgets, OLD]) {
    const r = s.results[String(b)];
    if (!r) continue;
    const anon = r.peakAnonRssBytes ?? 0;
    const ratios = SHOWN.map(([k]) => {
      const v = r[k];
      const t = top[k];
      if (v === undefined || t === undefined) return '-';
      // Speed against the old defaults' (above 1: faster), times inverted.
      return `${(k === 'reopenMs' ? t / v : v / t).toFixed(2)}x`;
    });
    const label = b === OLD ? 'old defaults' : Number(b) >= 1024 ? `${Number(b) / 1024} GiB` : `${b} MiB`;
    lines.push(`| ${label} | ${(anon / MiB).toFixed(1)} | ${sqlite ? `${(anon / sqlite).toFixed(2)}x` : '-'} | ${ratios.join(' | ')} |`);
  }
  if (sqlite) lines.push(`| SQLite (normal) | ${(sqlite / MiB).toFixed(1)} | 1.00x | ${SHOWN.map(() => '').join(' | ')} |`);
  for (const l of lines) console.log(l);
  return lines;
}
