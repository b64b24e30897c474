/**
 * `npm run bench [-- --quick] [--events N] [--suite log-append]`: runs the bench suites and writes
 * their JSON results to bench/results/. Figures are only meaningful as ratios within one run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineName } from '../lib/index.js';
import { nativeAddon } from '../lib/native.js';
import { printIndexBench, runIndexBench } from './index-bench.js';
import { printLogAppend, runLogAppend } from './log-append.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const events = Number(flag('--events') ?? (quick ? 50_000 : 200_000));
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

if (suite === 'all' || suite === 'index') {
  const r = await runIndexBench({ quick, engines, events: flag('--index-events') ? Number(flag('--index-events')) : undefined });
  printIndexBench(r);
  results.index = r;
}

const dir = path.join(import.meta.dirname, 'results');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, `bench-${Date.now()}.json`);
fs.writeFileSync(file, JSON.stringify(results, null, 2));
console.log(`results: ${path.relative(process.cwd(), file)}`);
