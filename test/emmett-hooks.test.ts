// annals/emmett hooks and consumers over both engines: onBeforeCommit inside the atomic boundary
// (what it appends commits with the events or not at all), onAfterCommit with ids and positions,
// and Emmett processors on durable consumers (checkpoints in the store, resumed after a restart,
// at-least-once).
import {
  EmmettError,
  type Event,
  ExpectedVersionConflictError,
  forwardToMessageBus,
  getInMemoryMessageBus,
  reactor,
  STREAM_DOES_NOT_EXIST,
} from '@event-driven-io/emmett';
import { describe, expect, it, vi } from 'vitest';
import type { AnnalsReadEvent } from '../lib/emmett/index.js';
import { InvalidArgumentError } from '../lib/index.js';
import { type CartEvent, emmettStore } from './emmett-fixtures.js';
import { ENGINES, tempDir } from './helpers.js';

const added = (qty: number): CartEvent => ({ type: 'ItemAdded', data: { sku: 'a', qty } });

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe.each(ENGINES)('annals/emmett hooks, %s engine', (engine) => {
  it('onAfterCommit gets the appended events with their ids and positions', async () => {
    const seen: AnnalsReadEvent[][] = [];
    const s = emmettStore(engine, { hooks: { onAfterCommit: (m) => void seen.push(m) } });
    await s.appendToStream('a', [added(1), added(2)]);
    const read = (await s.readStream('a')).events;
    expect(seen).toHaveLength(1);
    expect(seen[0]?.map((e) => e.metadata)).toEqual(read.map((e) => e.metadata));
    expect(seen[0]?.[1]).toMatchObject({ type: 'ItemAdded', data: { qty: 2 }, metadata: { streamPosition: 2n } });
  });

  it("takes Emmett's own after-commit handlers: forwardToMessageBus publishes each event", async () => {
    const bus = getInMemoryMessageBus();
    const published: unknown[] = [];
    bus.subscribe((e: CartEvent) => void published.push(e.data), 'ItemAdded');
    const s = emmettStore(engine, { hooks: { onAfterCommit: forwardToMessageBus(bus) } });
    await s.appendToStream('a', [added(5), added(6)]);
    expect(published).toEqual([
      { sku: 'a', qty: 5 },
      { sku: 'a', qty: 6 },
    ]);
  });

  it('a failing onAfterCommit does not fail the committed append', async () => {
    const warning = vi.fn();
    process.on('warning', warning);
    try {
      const s = emmettStore(engine, {
        hooks: {
          onAfterCommit: () => {
            throw new Error('bus down');
          },
        },
      });
      expect((await s.appendToStream('a', [added(1)])).nextExpectedStreamVersion).toBe(1n);
      expect(await s.streamExists('a')).toBe(true);
      await until(() => warning.mock.calls.length > 0, 'the warning');
      expect(String(warning.mock.calls[0]?.[0])).toMatch(/bus down/);
    } finally {
      process.off('warning', warning);
    }
  });

  it('onBeforeCommit appends an inline projection in the same commit, seeing versions and ids', async () => {
    const s = emmettStore(engine, {
      hooks: {
        onBeforeCommit: (messages, { append }) => {
          const total = messages.reduce((n, m) => n + (m.data as { qty: number }).qty, 0);
          append(`totals-${messages[0]?.metadata.streamName}`, [
            { type: 'TotalAdded', data: { total, upTo: String(messages.at(-1)?.metadata.streamPosition) } },
          ]);
          append('ids', messages.map((m) => ({ type: 'Id', data: { id: m.metadata.messageId } })) as Event[]);
        },
      },
    });
    await s.appendToStream('cart', [added(1), added(2)]);
    await s.appendToStream('cart', [added(4)]);
    const totals = (await s.readStream('totals-cart')).events.map((e) => e.data);
    expect(totals).toEqual([
      { total: 3, upTo: '2' },
      { total: 4, upTo: '3' },
    ]);
    const ids = (await s.readStream('ids')).events.map((e) => (e.data as { id: string }).id);
    expect(ids).toEqual((await s.readStream('cart')).events.map((e) => e.metadata.messageId));
  });

  it('a throwing onBeforeCommit, or a conflict of its appends, leaves nothing', async () => {
    let mode: 'throw' | 'conflict' | 'ok' = 'throw';
    const s = emmettStore(engine, {
      hooks: {
        onBeforeCommit: (_m, { append }) => {
          append('projection', [{ type: 'P', data: {} }], mode === 'conflict' ? { expectedStreamVersion: 7n } : undefined);
          if (mode === 'throw') throw new Error('projection failed');
        },
      },
    });
    await expect(s.appendToStream('cart', [added(1)])).rejects.toThrow('projection failed');
    mode = 'conflict';
    await expect(s.appendToStream('cart', [added(1)])).rejects.toMatchObject({ code: 'WRONG_EXPECTED_VERSION', streamId: 'projection' });
    expect(await s.streamExists('cart')).toBe(false);
    expect(await s.streamExists('projection')).toBe(false);
    mode = 'ok';
    await s.appendToStream('cart', [added(1)]);
    // The call's own expected version is checked with the hook's appends, atomically.
    await expect(s.appendToStream('cart', [added(1)], { expectedStreamVersion: STREAM_DOES_NOT_EXIST })).rejects.toBeInstanceOf(
      ExpectedVersionConflictError,
    );
    expect((await s.readStream('projection')).currentStreamVersion).toBe(1n);
    expect((await s.readStream('cart')).currentStreamVersion).toBe(1n);
  });

  it("onBeforeCommit's bad appends are INVALID_ARGUMENT and leave nothing", async () => {
    let bad: [unknown, unknown] = ['', [{ type: 'P', data: {} }]];
    const s = emmettStore(engine, {
      hooks: { onBeforeCommit: (_m, { append }) => append(bad[0] as string, bad[1] as Event[]) },
    });
    await expect(s.appendToStream('cart', [added(1)])).rejects.toThrow(
      /onBeforeCommit append: streamName must be a non-empty string, got the string ""/,
    );
    bad = ['p', []];
    await expect(s.appendToStream('cart', [added(1)])).rejects.toThrow(/events must be a non-empty array, got an array of 0/);
    bad = ['$$consumer-x', [{ type: 'P', data: {} }]];
    await expect(s.appendToStream('cart', [added(1)])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await s.streamExists('cart')).toBe(false);
  });

  it('onBeforeCommit runs again when the stream moved before the commit, so what it saw is what committed', async () => {
    const s = emmettStore(engine, {
      hooks: {
        onBeforeCommit: (messages, { append }) =>
          append('seen', messages.map((m) => ({ type: 'Saw', data: { v: Number(m.metadata.streamPosition) } })) as Event[]),
      },
    });
    await Promise.all(Array.from({ length: 8 }, (_, i) => s.appendToStream('busy', [added(i)])));
    expect((await s.readStream('busy')).currentStreamVersion).toBe(8n);
    const saw = (await s.readStream('seen')).events.map((e) => (e.data as { v: number }).v);
    expect(saw.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('a consumer feeds processors and resumes after a restart from the stored checkpoint', async () => {
    const dir = tempDir();
    const seen: string[] = [];
    const processor = () =>
      reactor<CartEvent>({
        processorId: 'totals',
        eachMessage: (m) => {
          seen.push(`${m.metadata.streamName}@${m.metadata.streamPosition}`);
        },
      });
    let s = emmettStore(engine, { directory: dir });
    await s.appendToStream('c1', [added(1), added(2)]);
    let consumer = s.consumer({ processors: [processor()] });
    const running = consumer.start();
    expect(consumer.isRunning).toBe(true);
    await s.appendToStream('c2', [added(3)]);
    await until(() => seen.length === 3, 'three events');
    await consumer.close();
    await running;
    expect(consumer.isRunning).toBe(false);
    await s.close();
    s = emmettStore(engine, { directory: dir });
    await s.appendToStream('c1', [added(4)]);
    consumer = s.consumer({ processors: [processor()] });
    const again = consumer.start();
    await until(() => seen.length >= 4, 'the new event');
    await consumer.stop();
    await again;
    expect(seen).toEqual(['c1@1', 'c1@2', 'c2@1', 'c1@3']);
  });

  it('a processor that throws ends the consumer; its event is delivered again on the next start', async () => {
    const s = emmettStore(engine);
    await s.appendToStream('c', [added(1), added(2), added(3)]);
    const seen: number[] = [];
    let failOn: number | undefined = 2;
    const make = () =>
      reactor<CartEvent>({
        processorId: 'flaky',
        eachMessage: (m) => {
          const qty = (m.data as { qty: number }).qty;
          if (qty === failOn) throw new Error(`failed on ${qty}`);
          seen.push(qty);
        },
        stopAfter: (m) => m.metadata.streamPosition === 3n,
      });
    await expect(s.consumer({ processors: [make()] }).start()).rejects.toThrow('failed on 2');
    failOn = undefined;
    await s.consumer({ processors: [make()] }).start(); // resolves: stopAfter ended it
    expect(seen).toEqual([1, 2, 3]);
  });

  it('refuses bad consumers', async () => {
    const s = emmettStore(engine);
    expect(() => s.consumer({ processors: [{} as never] })).toThrow(InvalidArgumentError);
    expect(() => s.consumer({ processors: 'p' as never })).toThrow(/processors must be an array, got the string/);
    expect(() => s.consumer({ consumerId: 5 as never })).toThrow(/consumerId must be a string, got the number 5/);
    await expect(s.consumer().start()).rejects.toBeInstanceOf(EmmettError);
    const consumer = s.consumer();
    consumer.reactor({ processorId: 'p', eachMessage: () => {} });
    expect(consumer.processors).toHaveLength(1);
  });
});
