import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../lib/index.js';
import { collect, ENGINES, onLines, openStore, tempDir } from './helpers.js';

const RUNNER = path.join(import.meta.dirname, 'fixtures', 'consumer-runner.ts');

async function fill(s: EventStore, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) await s.append(`order-${i % 5}`, [{ type: i % 2 ? 'Odd' : 'Even', data: { i } }]);
}

/** Takes `count` events of a consumer subscription, then breaks. */
async function take(s: EventStore, consumer: string, count: number, filter?: { types: string }): Promise<number[]> {
  const out: number[] = [];
  if (count === 0) return out;
  for await (const e of s.subscribe({ consumer, filter })) {
    out.push((e.data as { i: number }).i);
    if (out.length === count) break;
  }
  return out;
}

/** Runs the consumer in a child process, kills it with SIGKILL once it printed `killAfter` lines. */
function runAndKill(dir: string, engine: string, every: number, killAfter: number): Promise<{ handled: number[]; saved: number[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, dir, String(every)], {
      env: { ...process.env, ANNALS_TEST_ENGINE: engine },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const handled: number[] = [];
    const saved: number[] = [];
    onLines(child.stdout, (line) => {
      const [kind, i] = line.split(' ');
      if (kind === 'handled') handled.push(Number(i));
      if (kind === 'saved') saved.push(Number(i));
      if (handled.length >= killAfter) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (_c, signal) =>
      signal === 'SIGKILL' ? resolve({ handled, saved }) : reject(new Error(`consumer exited: ${stderr}`)),
    );
  });
}

describe.each(ENGINES)('durable consumers (%s engine)', (engine) => {
  it('a read-only store has no durable consumers', async () => {
    const dir = tempDir();
    const w = await openStore(dir, engine);
    await fill(w, 0, 3);
    await w.close();
    const r = await openStore(dir, engine, { readOnly: true });
    expect(() => r.subscribe({ consumer: 'c' })).toThrow(expect.objectContaining({ code: 'READ_ONLY' }));
  });

  it('after SIGKILL, resumes with no gap, redelivering at most the unsaved tail; checkpoint() is durable when it resolves', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
    await fill(s, 0, 400);
    await s.close();
    for (const [every, killAfter] of [
      [0, 150],
      [25, 260],
    ] as const) {
      const { handled, saved } = await runAndKill(dir, engine, every, killAfter);
      const t = await openStore(dir, engine);
      const next = await take(t, 'c', 1);
      await t.close();
      const last = handled[handled.length - 1] as number;
      expect(next[0]).toBeLessThanOrEqual(last + 1); // no gap
      if (saved.length > 0) expect(next[0]).toBeGreaterThan(saved[saved.length - 1] as number); // nothing saved redelivered
      // Resume the rest for the next round from where this one will continue.
      const u = await openStore(dir, engine);
      await u.resetConsumer('c', (await collect(u.readAll()))[(next[0] as number) - 1]?.position ?? 0);
      await u.close();
    }
  });
});
