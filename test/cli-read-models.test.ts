/** The `annals` read-model commands: streams, category, type(s), consumers, reset-consumer, delete-stream. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventStore } from '../lib/index.js';
import { tempDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'lib', 'cli', 'main.ts');

function annals(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const COMMANDS = ['streams', 'category', 'type', 'consumers', 'reset-consumer', 'delete-stream'];

async function seed(dir: string): Promise<void> {
  const s = await EventStore.open(dir, { chunkSize: 1 << 20 });
  for (let i = 0; i < 25; i++) {
    await s.append(`order-${String(i).padStart(2, '0')}`, [{ type: 'Placed', data: { i } }, { type: i % 5 === 0 ? 'Paid' : 'Viewed' }]);
  }
  await s.append('cart-1', [{ type: 'Added' }]);
  const sub = s.subscribe({ consumer: 'billing', filter: { types: 'Paid' } });
  let n = 0;
  for await (const _ of sub) if (++n === 2) break;
  await s.close();
}

describe('annals read-model commands', () => {
  it('are listed by --help, each with its own --help', () => {
    const help = annals(['--help']).stdout;
    for (const cmd of [...COMMANDS, 'types']) expect(help, cmd).toContain(cmd);
    for (const cmd of COMMANDS) {
      const r = annals([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout).toContain(`Usage: annals ${cmd}`);
    }
  });

  it('streams pages through every stream with --after, --prefix and --json, beside a writer holding the store', async () => {
    const dir = tempDir();
    await seed(dir);
    const writer = await EventStore.open(dir);
    try {
      const seen: string[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const r = annals(['streams', dir, '--limit', '4', '--json', ...(after === null ? [] : ['--after', after])]);
        expect(r.code, r.stderr).toBe(0);
        const page = JSON.parse(r.stdout) as { streams: { streamId: string; version: number }[]; next: string | null };
        seen.push(...page.streams.map((s) => s.streamId));
        after = page.next;
        if (after === null) break;
      }
      expect(seen).toHaveLength(26);
      expect(seen[0]).toBe('cart-1');
      const text = annals(['streams', dir, '--prefix', 'order-1', '--limit', '3']);
      expect(text.stdout).toContain('order-10');
      expect(text.stdout).toContain('3 streams; more with --after "order-12"');
      for (const limit of ['0', '1000000', 'x']) {
        const bad = annals(['streams', dir, '--limit', limit]);
        expect(bad.code, limit).toBe(1);
        expect(bad.stderr, limit).toMatch(/^annals: INVALID_ARGUMENT: .*limit/);
      }
    } finally {
      await writer.close();
    }
  });

  it('category and type print a page of events in global order, --after reads on, --backward reverses', async () => {
    const dir = tempDir();
    await seed(dir);
    const first = JSON.parse(annals(['category', dir, 'order', '--limit', '30', '--json']).stdout) as {
      events: { streamId: string; position: number }[];
      next: number;
    };
    expect(first.events).toHaveLength(30);
    const rest = JSON.parse(annals(['category', dir, 'order', '--after', String(first.next), '--json']).stdout) as {
      events: unknown[];
      next: null;
    };
    expect(rest.events).toHaveLength(20);
    expect(rest.next).toBeNull();
    const back = JSON.parse(annals(['category', dir, 'order', '--backward', '--limit', '2', '--json']).stdout) as {
      events: { streamId: string }[];
    };
    expect(back.events.map((e) => e.streamId)).toEqual(['order-24', 'order-24']);
    const paid = annals(['type', dir, 'Paid']);
    expect(paid.code).toBe(0);
    expect(paid.stdout).toContain('order-05@2  Paid');
    expect(paid.stdout).toContain('5 events');
    expect(annals(['types', dir, 'Paid']).stdout).toBe(paid.stdout);
    const bad = annals(['category', dir, 'a-b']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^annals: INVALID_ARGUMENT: category 'a-b' contains '-'/);
    expect(annals(['type', dir, 'Paid', '--limit', '0']).stderr).toMatch(/INVALID_ARGUMENT/);
    expect(annals(['category', path.join(dir, 'nope'), 'order']).stderr).toMatch(/^annals: NOT_A_STORE/);
  });

  it('consumers shows position and lag; reset-consumer moves it; delete-stream soft and --hard', async () => {
    const dir = tempDir();
    await seed(dir);
    const before = JSON.parse(annals(['consumers', dir, '--json']).stdout) as { name: string; position: number; lag: number }[];
    expect(before).toEqual([expect.objectContaining({ name: 'billing', lag: 3, live: false, filter: { types: 'Paid' } })]);
    expect(annals(['consumers', dir]).stdout).toMatch(/billing\s+\d+\s+3\s+\{"types":"Paid"\}/);
    expect(annals(['reset-consumer', dir, 'billing', '0']).stdout).toBe('consumer billing resumes after position 0\n');
    expect((JSON.parse(annals(['consumers', dir, '--json']).stdout) as { lag: number }[])[0]?.lag).toBe(5);
    const badPosition = annals(['reset-consumer', dir, 'billing', '7']);
    expect(badPosition.code).toBe(1);
    expect(badPosition.stderr).toMatch(/^annals: INVALID_ARGUMENT/);

    const soft = annals(['delete-stream', dir, 'order-03', '--json']);
    expect(soft.code, soft.stderr).toBe(0);
    expect(JSON.parse(soft.stdout)).toMatchObject({ streamId: 'order-03', hard: false, position: expect.any(Number) });
    expect(annals(['delete-stream', dir, 'order-04', '--hard']).stdout).toMatch(
      /^deleted stream order-04 \(hard: a tombstone\) at position \d+\n$/,
    );
    const wrong = annals(['delete-stream', dir, 'order-05', '--expected-version', '9']);
    expect(wrong.stderr).toMatch(/^annals: WRONG_EXPECTED_VERSION/);
    const listed = annals(['streams', dir, '--prefix', 'order-0']).stdout;
    expect(listed).not.toContain('order-03');
    expect(listed).not.toContain('order-04');
    expect(listed).toContain('order-05');
    const s = await EventStore.open(dir);
    await expect(s.append('order-04', [{ type: 'X' }])).rejects.toMatchObject({ code: 'STREAM_DELETED' });
    await s.append('order-03', [{ type: 'Again' }]);
    expect((await s.getStreamMetadata('order-04')).hardDeleted).toBe(true);
    await s.close();
  });
});
