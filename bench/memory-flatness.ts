/**
 * Memory as the store grows (`npm run bench -- --suite flatness [--flatness-events 1000000,10000000]`,
 * opt-in: building the larger store takes minutes): for each size, a store of that many events
 * (batched appends of 100, a hundred events per stream, the native engine where it loads) is built
 * in one child process, then reopened in another that appends, reads and looks up at the same
 * memory budget and reports its anonymous resident peak (RssAnon, sampled after each phase) and
 * each phase's rate. With the budget bounding every part that grows with the store, the larger
 * store's peak should be the smaller's.
 *
 *   node --expose-gc --import tsx bench/memory-flatness.ts <build|use> <dir> <events> <engine> [budget]
 * runs one child; the suite (runFlatness) runs both for each size, in order.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EngineName, EventStore } from '../lib/index.js';
import { payload, rssParts } from './workload.js';

const EVENTS_PER_STREAM = 100;
const BATCH = 100;

export interface FlatnessRow {
  events: number;
  buildSeconds: number;
  reopenMs: number;
  appendRate: number;
  readRate: number;
  lookupRate: number;
  commandLookupRate: number;
  peakAnonBytes: number;
}

/** The store of `events`: event i goes to stream i mod (events / EVENTS_PER_STREAM), command `c-i`. */
async function build(dir: string, events: number, engine: EngineName, budget: number | undefined): Promise<Record<string, number>> {
  const streams = Math.max(1, Math.floor(events / EVENTS_PER_STREAM));
  const store = await EventStore.open(dir, { engine, ...(budget ? { memoryBudget: budget } : {}) });
  const t = performance.now();
  for (let b = 0; b < events; b += BATCH) {
    await store.appendMany(
      Array.from({ length: BATCH }, (_, k) => ({
        streamId: `s-${(b + k) % streams}`,
        events: [{ type: 'OrderPlaced', data: payload(b + k) }],
        commandId: `c-${b + k}`,
      })),
    );
  }
  await store.close();
  return { buildSeconds: (performance.now() - t) / 1000 };
}

/** Reopens the store and runs the phases, sampling RssAnon after each. */
async function use(dir: string, events: number, engine: EngineName, budget: number | undefined): Promise<Record<string, number>> {
  const streams = Math.max(1, Math.floor(events / EVENTS_PER_STREAM));
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, rssParts()?.anon ?? 0);
  };
  let seed = 7;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const rate = async (n: number, fn: () => Promise<void>) => {
    const t = performance.now();
    await fn();
    sample();
    return n / ((performance.now() - t) / 1000);
  };
  sample();
  const t = performance.now();
  const store = await EventStore.open(dir, { engine, ...(budget ? { memoryBudget: budget } : {}) });
  await store.readEvent('s-1', 1);
  const reopenMs = performance.now() - t;
  sample();
  const A = 100_000;
  // Appends to old streams (their versions are read from the disk index once evicted) and new ones.
  const appendRate = await rate(A, async () => {
    for (let b = 0; b < A; b += BATCH) {
      await store.appendMany(
        Array.from({ length: BATCH }, (_, k) => ({
          streamId: k % 2 === 0 ? `s-${rand(streams)}` : `new-${b + k}`,
          events: [{ type: 'OrderPlaced', data: payload(b + k) }],
          commandId: `more-${b + k}`,
        })),
      );
    }
  });
  let read = 0;
  const readTime = await rate(1, async () => {
    for (let i = 0; i < 500; i++) read += (await store.readStream(`s-${rand(streams)}`)).length;
  });
  const L = 50_000;
  const lookupRate = await rate(L, async () => {
    for (let i = 0; i < L; i++)
      if (!(await store.readEvent(`s-${rand(streams)}`, 1 + rand(EVENTS_PER_STREAM)))) throw new Error('missing event');
  });
  const commandLookupRate = await rate(L, async () => {
    for (let i = 0; i < L; i++) {
      const found = await store.readCommand(i % 2 === 0 ? `c-${rand(events)}` : `absent-${i}`);
      if ((i % 2 === 0) !== Boolean(found)) throw new Error('command lookup answered wrongly');
    }
  });
  await store.close();
  return { reopenMs, appendRate, readRate: read * readTime, lookupRate, commandLookupRate, peakAnonBytes: peak };
}

function child(mode: 'build' | 'use', dir: string, events: number, engine: EngineName, budget: number | undefined): Record<string, number> {
  const out = execFileSync(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      path.join(import.meta.dirname, 'memory-flatness.ts'),
      mode,
      dir,
      String(events),
      engine,
      String(budget ?? ''),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').pop() as string);
}

export function runFlatness(opts: { sizes: number[]; engine: EngineName; budget?: number }): FlatnessRow[] {
  const rows: FlatnessRow[] = [];
  for (const events of opts.sizes) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-flatness-'));
    try {
      const built = child('build', dir, events, opts.engine, opts.budget);
      const used = child('use', dir, events, opts.engine, opts.budget);
      rows.push({ events, ...built, ...used } as FlatnessRow);
      console.log(
        `  ${events} events: built in ${built.buildSeconds?.toFixed(0)} s, peak anonymous ${((used.peakAnonBytes ?? 0) / 2 ** 20).toFixed(1)} MB`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

export function printFlatness(rows: FlatnessRow[]): string[] {
  const k = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(0)}k` : v.toFixed(0));
  const lines = [
    '| store | anonymous peak (MB) | reopen (ms) | appends (events/s) | stream reads (events/s) | (stream, version) lookups/s | command-id lookups/s (half absent) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.events / 1e6}M events | ${(r.peakAnonBytes / 2 ** 20).toFixed(1)} | ${r.reopenMs.toFixed(0)} | ${k(r.appendRate)} | ${k(r.readRate)} | ${k(r.lookupRate)} | ${k(r.commandLookupRate)} |`,
    ),
  ];
  for (const l of lines) console.log(l);
  return lines;
}

if (process.argv[1] === import.meta.filename) {
  const [mode, dir, eventsText, engine, budgetText] = process.argv.slice(2) as [string, string, string, EngineName, string | undefined];
  const budget = budgetText ? Number(budgetText) : undefined;
  const run = mode === 'build' ? build : use;
  const r = await run(dir, Number(eventsText), engine, budget);
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
