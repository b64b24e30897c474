import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type EngineName, EventStore, type RecordedEvent } from '../lib/index.js';
import { collect, ENGINES, MiB, onLines, openStore, tempDir } from './helpers.js';

const WRITER = path.join(import.meta.dirname, 'fixtures', 'crash-writer.ts');
const delays: number[] = [];

afterAll(() => {
  if (delays.length === 0) return;
  const sorted = [...delays].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  console.log(`follower delay after the writer's ack over ${sorted.length} appends: median ${at(0.5)} ms, p99 ${at(0.99)} ms`);
});

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Writer {
  acks: Map<string, { stream: string; lastVersion: number; at: number }>;
  kill(): Promise<void>;
}

/** The crash tests' writer in another process (durability sync): it prints each acknowledged append. */
async function startWriter(dir: string, engine: EngineName): Promise<Writer> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, engine, '7', 'sync'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: Writer['acks'] = new Map();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const opened = new Promise<void>((resolve, reject) => {
    child.on('exit', () => reject(new Error(`writer exited: ${stderr}`)));
    onLines(child.stdout, (line) => {
      const [kind, a, b, c] = line.split(' ');
      if (kind === 'open') resolve();
      if (kind === 'ack') acks.set(c as string, { stream: a as string, lastVersion: Number(b), at: Date.now() });
    });
  });
  await opened;
  return {
    acks,
    kill: () =>
      new Promise((resolve) => {
        child.on('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** Every append the writer makes carries its size (data.count) and number (data.n): whole or not at all. */
function expectWholeAppends(events: RecordedEvent[]): void {
  const byAppend = new Map<number, RecordedEvent[]>();
  for (const e of events) {
    const n = (e.data as { n: number }).n;
    byAppend.set(n, [...(byAppend.get(n) ?? []), e]);
  }
  for (const [n, group] of byAppend) {
    const head = group[0] as RecordedEvent;
    const count = (head.data as { count: number }).count;
    expect(group.length, `append ${n}`).toBe(count);
    // Consecutive in the log: no other append's event between them.
    expect(events.indexOf(head) + count - 1).toBe(events.indexOf(group[count - 1] as RecordedEvent));
  }
}

const WRITER_OF: Record<EngineName, EngineName> = { native: ENGINES.includes('js') ? 'js' : 'native', js: ENGINES[0] as EngineName };

describe.each(ENGINES)('a read-only store follows the writer (%s engine follower)', (engine) => {
  const writerEngine = WRITER_OF[engine];

  it(`sees a ${writerEngine} writer in another process: acknowledged appends within a bounded delay, never a partial one, the same log as a reopen after SIGKILL`, {
    timeout: 90_000,
  }, async () => {
    const dir = tempDir();
    const writer = await startWriter(dir, writerEngine);
    const follower = await EventStore.open(dir, { engine, readOnly: true, indexMemtableEntries: 500 });
    const seen: RecordedEvent[] = [];
    const seenAt = new Map<string, number>();
    const sub = follower.subscribe({});
    const live = (async () => {
      for await (const e of sub) {
        seen.push(e);
        if (e.commandId !== undefined) seenAt.set(e.commandId, Date.now());
      }
    })();
    // Past several 1 MiB chunks and many of the writer's 500-entry memtables.
    await until('the writer to roll over chunks', async () => (await follower.stats()).chunkCount >= 8, 60_000);
    await writer.kill();
    const settled = async () => {
      const before = seen.length;
      await new Promise((r) => setTimeout(r, 300));
      return seen.length === before;
    };
    await until('the follower to settle', settled);
    sub.close();
    await live;

    for (const [commandId, ack] of writer.acks) {
      const at = seenAt.get(commandId);
      expect(at, `acknowledged ${commandId} seen by the follower`).toBeDefined();
      delays.push(Math.max(0, (at as number) - ack.at));
      const events = await follower.readCommand(commandId);
      expect(events?.at(-1)?.version).toBe(ack.lastVersion);
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.map((e) => e.position)).toEqual([...seen.map((e) => e.position)].sort((a, b) => a - b));
    expectWholeAppends(seen);
    expect(await collect(follower.readAll())).toEqual(seen);

    // What the follower shows is what a reopen recovers, up to where the follower got.
    const reopened = await openStore(dir, writerEngine);
    const recovered = await collect(reopened.readAll());
    expect(recovered.slice(0, seen.length)).toEqual(seen);
    for (const s of new Set(seen.map((e) => e.streamId))) {
      const followed = await follower.readStream(s);
      expect(followed).toEqual((await reopened.readStream(s)).slice(0, followed.length));
      expect(followed.map((e) => e.version)).toEqual(followed.map((_, i) => i + 1));
    }
    // The writer's close builds what its memtables held: the follower trades its own memtables
    // for those segments (its memory does not grow with the log).
    await reopened.close();
    await until('the follower to adopt the writer segments', async () => (await follower.stats()).index.memtableEntries < 500);
    expect((await follower.stats()).index.streamSegments).toBeGreaterThan(0);
    // The reopen made what recovery kept durable (appends whose ack the kill cut off): the
    // follower sees those too.
    expect(await collect(follower.readAll())).toEqual(recovered);
    await follower.close();
  });

  it('sees new streams, chunks, commands, categories, deletes and stream metadata of a writer in this process', async () => {
    const dir = tempDir();
    const writer = await openStore(dir, writerEngine);
    await writer.append('order-1', [{ type: 'Placed', data: { i: 0 } }]);
    const follower = await openStore(dir, engine, { readOnly: true, followIntervalMs: 5 });
    const frozen = await openStore(dir, engine, { readOnly: true, followIntervalMs: 0 });
    const pad = 'p'.repeat(4000);
    for (let i = 1; i <= 600; i++) {
      await writer.append(`order-${i % 7}`, [{ type: i % 2 ? 'Paid' : 'Placed', data: { i, pad } }], { commandId: `c-${i}` });
    }
    await until('the follower to catch up', async () => (await follower.stats()).eventCount === 601);
    expect((await follower.stats()).chunkCount).toBeGreaterThan(1);
    expect((await follower.readCommand('c-600'))?.[0]?.data).toEqual({ i: 600, pad });
    expect((await follower.listStreams()).streams.map((s) => s.streamId)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `order-${i}`));
    expect((await collect(follower.readCategory('order'))).length).toBe(601);
    expect((await collect(follower.readByType('Paid'))).length).toBe(300);
    expect(await follower.readStream('order-3')).toEqual(await writer.readStream('order-3'));

    await writer.deleteStream('order-3');
    await writer.setStreamMetadata('order-4', { maxCount: 2 });
    await until('the delete to reach the follower', async () => (await follower.readStream('order-3')).length === 0);
    await until('the metadata to reach the follower', async () => (await follower.readStream('order-4')).length === 2);
    expect(await follower.getStreamMetadata('order-4')).toEqual(await writer.getStreamMetadata('order-4'));
    expect((await collect(follower.readCategory('order'))).map((e) => e.position)).toEqual(
      (await collect(writer.readCategory('order'))).map((e) => e.position),
    );
    expect((await frozen.stats()).eventCount).toBe(1);
    expect(await frozen.readStream('order-3')).toHaveLength(0);
  });

  it('keeps reading right across a scavenge of chunks it had followed the writer past', async () => {
    const dir = tempDir();
    const writer = await openStore(dir, writerEngine);
    const follower = await openStore(dir, engine, { readOnly: true, followIntervalMs: 5 });
    const pad = 'p'.repeat(4000);
    for (let i = 0; i < 600; i++) await writer.append(i % 2 ? 'keep-1' : 'gone-1', [{ type: 'T', data: { i, pad } }]);
    await until('the follower to catch up', async () => (await follower.stats()).eventCount === 600);
    expect(await collect(follower.readAll())).toHaveLength(600); // its engine has the chunks open now
    await writer.deleteStream('gone-1');
    expect((await writer.scavenge()).chunksRewritten).toBeGreaterThan(0);
    await writer.append('keep-1', [{ type: 'T', data: { i: 600 } }]);
    await until('the follower to see the append after the scavenge', async () => (await follower.streamVersion('keep-1')) === 301);
    expect(await collect(follower.readAll())).toEqual(await collect(writer.readAll()));
    expect(await follower.readStream('keep-1')).toEqual(await writer.readStream('keep-1'));
    expect(await follower.readStream('gone-1')).toEqual([]);
  });

  it('catches up with a burst in bounded steps of whole appends, the event loop turning between them', async () => {
    const dir = tempDir();
    const writer = await openStore(dir, writerEngine);
    await writer.append('burst-0', [{ type: 'T', data: { n: 0, count: 1 } }]);
    // Its timer never fires in this test: the steps below are the ones it takes by itself.
    const follower = await openStore(dir, engine, { readOnly: true, followIntervalMs: 60_000 });
    const pad = 'p'.repeat(4000);
    for (let i = 1; i < 1500; i += 3) {
      const events = [0, 1, 2].map(() => ({ type: 'T', data: { n: i, count: 3, pad } }));
      await writer.append(`burst-${i % 5}`, events);
    }
    const total = (await writer.stats()).eventCount;
    const count = async () => (await follower.stats()).eventCount;
    expect(await count()).toBe(1);
    (follower as unknown as { follower: { tick(): void } }).follower.tick();
    const first = await count();
    // 1 MiB of ~4 KiB events, rounded to a whole append: far from the 6 MiB written.
    expect(first).toBeGreaterThan(100);
    expect(first).toBeLessThan(total / 2);
    expect((first - 1) % 3).toBe(0);
    const steps = [first];
    while ((steps.at(-1) as number) < total && steps.length < 100) {
      await new Promise((r) => setImmediate(r));
      steps.push(await count());
    }
    expect(steps.at(-1)).toBe(total);
    expect(new Set(steps).size).toBeGreaterThan(3);
    expectWholeAppends(await collect(follower.readAll()));
    expect(await collect(follower.readAll())).toEqual(await collect(writer.readAll()));
  });

  it('a subscription of the follower passes from catch-up to live without a gap or a repeat', async () => {
    const dir = tempDir();
    const writer = await openStore(dir, writerEngine);
    for (let i = 0; i < 50; i++) await writer.append(`s-${i % 3}`, [{ type: 'T', data: { i } }]);
    const follower = await openStore(dir, engine, { readOnly: true });
    const got: number[] = [];
    const sub = follower.subscribe({ filter: { streamPrefix: 's-1' } });
    const done = (async () => {
      for await (const e of sub) {
        got.push((e.data as { i: number }).i);
        if (got.length === 33) break;
      }
    })();
    for (let i = 50; i < 100; i++) await writer.append(`s-${i % 3}`, [{ type: 'T', data: { i } }]);
    await done;
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i).filter((i) => i % 3 === 1));
  });

  it('refuses bad followIntervalMs values and leaves writes refused', async () => {
    const dir = tempDir();
    await (await openStore(dir, engine)).append('a', [{ type: 'T' }]);
    for (const bad of [-1, 1.5, 60_001, Number.NaN, '50', null]) {
      await expect(EventStore.open(dir, { engine, readOnly: true, followIntervalMs: bad as number }), String(bad)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    const follower = await openStore(dir, engine, { readOnly: true, chunkSize: MiB });
    await expect(follower.append('a', [{ type: 'T' }])).rejects.toMatchObject({ code: 'READ_ONLY' });
  });
});
