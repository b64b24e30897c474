// Several processes write to one PostgreSQL store at once while others follow its global log:
// every follower must see every event exactly once, all in one order (the order readAll gives
// afterwards); of appends racing for one version exactly one wins; a command id is stored once.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect } from './helpers.js';
import { connectPg, newSchema, PG_SKIP, PG_URL } from './pg-helpers.js';

const WORKER = path.join(import.meta.dirname, 'pg-workers', 'worker.ts');

function run(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() as string)) : reject(new Error(`${args[0]} exited ${code}: ${err}`)),
    );
  });
}

const WRITERS = 6;
const ROUNDS = 60;

describe.skipIf(PG_SKIP !== undefined)(`PostgreSQL store, several processes${PG_SKIP ? ` (skipped: ${PG_SKIP})` : ''}`, () => {
  it('followers see every event exactly once in one order; one winner per version; a command stored once', {
    timeout: 240_000,
  }, async () => {
    const schema = newSchema();
    const store = await connectPg(schema);
    const started = Date.now();
    const followers = [
      run(['subscriber', PG_URL, schema]),
      run(['subscriber', PG_URL, schema]),
      run(['poller', PG_URL, schema]),
      run(['poller', PG_URL, schema]),
    ];
    const writers = await Promise.all(
      Array.from({ length: WRITERS }, (_, id) => run(['writer', PG_URL, schema, String(id), String(ROUNDS)])),
    );
    await store.append('end', [{ type: 'END' }]);
    const seen = (await Promise.all(followers)).map((f) => f.positions as number[]);
    const seconds = (Date.now() - started) / 1000;
    const all = (await collect(store.readAll())).filter((e) => e.type !== 'END');
    const order = all.map((e) => e.position);
    for (const s of seen) expect(s).toEqual(order);
    const sum = (k: string) => writers.reduce((n, w) => n + (w[k] as number), 0);
    // Every acknowledged append is there, and nothing else.
    const acked = sum('acked') + sum('raceWins') + sum('commandWins');
    const bulk = all.filter((e) => e.type === 'B').length / 2; // bulk items hold two events and report one position
    expect(all.length - bulk).toBe(acked);
    expect(sum('raceWins')).toBe(ROUNDS);
    for (let k = 0; k < 3; k++)
      expect((await store.readStream(`race-${k}`)).map((e) => e.version)).toEqual(Array.from({ length: ROUNDS / 3 }, (_, i) => i + 1));
    expect(sum('commandWins')).toBe(ROUNDS);
    expect(sum('commandDuplicates')).toBe(ROUNDS * (WRITERS - 1));
    for (let r = 0; r < ROUNDS; r += 7) expect((await store.readCommand(`shared-command-${r}`))?.length).toBe(1);
    // Within each stream, versions follow global order.
    const next = new Map<string, number>();
    for (const e of all) {
      expect(e.version).toBe((next.get(e.streamId) ?? 0) + 1);
      next.set(e.streamId, e.version);
    }
    console.log(
      `pg concurrency: ${WRITERS} writer processes, ${all.length} events in ${seconds.toFixed(1)} s, ${seen.length} follower processes each saw all ${order.length} in one order; races ${sum('raceWins')} won / ${sum('raceLosses')} lost; commands ${sum('commandWins')} stored / ${sum('commandDuplicates')} refused`,
    );
  });
});
