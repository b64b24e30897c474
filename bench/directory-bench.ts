/**
 * Stream directory bench: page(after, 100) at 10k and at 1M streams, to show a page costs the same
 * whatever the directory's size (a search reads O(height) pages, then the leaves it returns), for
 * the native and the JS reader of the same file (built natively: both engines write the same
 * bytes). Also the build time of each size, and get(id).
 * Run: node --expose-gc --import tsx bench/directory-bench.ts [--sizes 10000,1000000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DirectoryBackend, DirectoryInput, DirectoryReader } from '../lib/index/directory-backend.js';
import { JsDirectoryBackend } from '../lib/index/js-directory.js';
import { NativeDirectoryBackend } from '../lib/index/native-directory.js';
import { nativeAddon } from '../lib/native.js';

const args = process.argv.slice(2);
const sizes = (args.includes('--sizes') ? (args[args.indexOf('--sizes') + 1] as string) : '10000,1000000').split(',').map(Number);
const QUERIES = 5000;

/** Ids of a multi-tenant store, in no order: tenant-<t>/order-<uuid-like hex>. */
function idOf(i: number): string {
  const h = (Math.imul(i, 2654435761) >>> 0).toString(16).padStart(8, '0');
  return `tenant-${i % 50}/order-${h}-${i.toString(36)}`;
}

function inputOf(n: number): DirectoryInput {
  const bytes = Array.from({ length: n }, (_, i) => Buffer.from(idOf(i), 'utf8'));
  let end = 0;
  return {
    ids: Buffer.concat(bytes),
    idEnds: Uint32Array.from(bytes, (b) => (end += b.length)),
    firstVersion: new Uint32Array(n).fill(1),
    lastVersion: Uint32Array.from({ length: n }, (_, i) => 1 + (i % 20)),
    firstPosition: Float64Array.from({ length: n }, (_, i) => 64 + i * 300),
    lastPosition: Float64Array.from({ length: n }, (_, i) => 64 + i * 300 + 200),
  };
}

/** Microseconds per call of `fn(i)` over QUERIES calls after a warm-up: mean, p50 and p99. */
function time(fn: (i: number) => unknown): { mean: number; p50: number; p99: number } {
  for (let i = 0; i < 500; i++) fn(i);
  const t: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const s = process.hrtime.bigint();
    fn(i);
    t.push(Number(process.hrtime.bigint() - s) / 1000);
  }
  t.sort((a, b) => a - b);
  const mean = t.reduce((a, b) => a + b, 0) / t.length;
  return { mean, p50: t[Math.floor(t.length / 2)] as number, p99: t[Math.floor(t.length * 0.99)] as number };
}

const fmt = (x: { mean: number; p50: number; p99: number }) => `${x.mean.toFixed(1)} / ${x.p50.toFixed(1)} / ${x.p99.toFixed(1)}`;

const addon = nativeAddon();
const builder: DirectoryBackend = addon ? new NativeDirectoryBackend(addon) : new JsDirectoryBackend();
const readers: [string, DirectoryBackend][] = [['js', new JsDirectoryBackend()]];
if (addon) readers.unshift(['native', new NativeDirectoryBackend(addon)]);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-dirbench-'));
console.log(
  `| streams | file | build (${addon ? 'native' : 'js'}) | reader | height | page(after, 100) µs mean / p50 / p99 | get µs mean / p50 / p99 |`,
);
console.log('|---|---|---|---|---|---|---|');
try {
  for (const n of sizes) {
    const input = inputOf(n);
    const started = performance.now();
    await builder.build(dir, `d-${n}.dir`, { fromPosition: 64, toPosition: 64 + n * 300 }, input);
    const buildMs = performance.now() - started;
    const file = path.join(dir, `d-${n}.dir`);
    const mb = (fs.statSync(file).size / 2 ** 20).toFixed(1);
    const height = fs.readFileSync(file).readUInt32LE(68);
    // Queries: `after` a random existing id (stepped by a prime) or just past one (absent).
    const afters = Array.from({ length: QUERIES + 500 }, (_, i) => idOf((i * 7919) % n) + (i % 2 ? '~' : ''));
    for (const [name, backend] of readers) {
      const r: DirectoryReader = backend.open(file);
      const page = time((i) => r.page(afters[i], undefined, 100));
      const get = time((i) => r.get(idOf((i * 104729) % n)));
      console.log(`| ${n} | ${mb} MB | ${buildMs.toFixed(0)} ms | ${name} | ${height} | ${fmt(page)} | ${fmt(get)} |`);
      r.close();
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
