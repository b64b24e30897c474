/** The contract of durable consumers: checkpoints kept by the store, resumed after a reopen, one
 * live subscription per name, resets, listings with lag. */
import { expect, it } from 'vitest';
import type { AnnalsStore } from '../store-api.js';
import type { RecordedEvent } from '../types.js';
import { collect, failure, type Harness } from './harness.js';

async function fill(s: AnnalsStore, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) await s.append(`order-${i % 5}`, [{ type: i % 2 ? 'Odd' : 'Even', data: { i } }]);
}

/** Takes `count` events of a consumer subscription, then breaks. */
async function take(s: AnnalsStore, consumer: string, count: number, filter?: { types: string }): Promise<number[]> {
  const out: number[] = [];
  if (count === 0) return out;
  for await (const e of s.subscribe({ consumer, ...(filter ? { filter } : {}) })) {
    out.push((e.data as { i: number }).i);
    if (out.length === count) break;
  }
  return out;
}

export function consumerTests(h: Harness): void {
  it('resumes after its checkpoint across close and reopen: no gap, no duplicate (break counts the last event as handled)', async () => {
    let s = await h.create();
    await fill(s, 0, 100);
    expect(await take(s, 'proj', 30)).toEqual([...Array(30).keys()]);
    s = await h.reopen(s);
    expect(await take(s, 'proj', 40)).toEqual([...Array(40).keys()].map((i) => i + 30));
    await fill(s, 100, 20);
    expect(await take(s, 'proj', 50)).toEqual([...Array(50).keys()].map((i) => i + 70));
    expect(await take(s, 'other', 3)).toEqual([0, 1, 2]);
    expect(await take(s, 'odd', 3, { types: 'Odd' })).toEqual([1, 3, 5]);
    expect(await take(s, 'odd', 2, { types: 'Odd' })).toEqual([7, 9]);
  });

  it("a second live subscription of a consumer is refused with CONSUMER_BUSY until the first ends; from: 'end' and a position", async () => {
    const s = await h.create();
    await fill(s, 0, 10);
    const first = s.subscribe({ consumer: 'c' });
    expect(() => s.subscribe({ consumer: 'c' })).toThrow(expect.objectContaining({ code: 'CONSUMER_BUSY' }));
    await expect(s.resetConsumer('c', 0)).rejects.toMatchObject({ code: 'CONSUMER_BUSY' });
    first.close();
    const all = await collect(s.readAll());
    const late = s.subscribe({ consumer: 'late', from: 'end' });
    await fill(s, 10, 2);
    const got: number[] = [];
    for await (const e of late) {
      got.push((e.data as { i: number }).i);
      if (got.length === 2) break;
    }
    expect(got).toEqual([10, 11]);
    for await (const e of s.subscribe({ consumer: 'five', from: (all[4] as RecordedEvent).position })) {
      expect((e.data as { i: number }).i).toBe(5);
      break;
    }
  });

  it('abandon() ends the subscription with the last yielded event unhandled: it comes again, after a reopen too', async () => {
    let s = await h.create();
    await fill(s, 0, 10);
    const sub = s.subscribe({ consumer: 'flaky' });
    const seen: number[] = [];
    for await (const e of sub) {
      seen.push((e.data as { i: number }).i);
      if (seen.length === 4) {
        sub.abandon(); // the handler failed on the fourth event
        break;
      }
    }
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(await take(s, 'flaky', 2)).toEqual([3, 4]);
    s = await h.reopen(s);
    const again = s.subscribe({ consumer: 'flaky' });
    for await (const e of again) {
      expect((e.data as { i: number }).i).toBe(5);
      again.abandon();
    }
    s = await h.reopen(s);
    expect(await take(s, 'flaky', 1)).toEqual([5]);
  });

  it('checkpoint() saves the position handled so far', async () => {
    let s = await h.create();
    await fill(s, 0, 10);
    const sub = s.subscribe({ consumer: 'c' });
    const it = sub[Symbol.asyncIterator]();
    for (let k = 0; k < 4; k++) await it.next();
    await sub.checkpoint();
    const all = await collect(s.readAll());
    expect((await s.listConsumers()).find((c) => c.name === 'c')).toMatchObject({ position: all[3]?.position, live: true });
    sub.close();
    s = await h.reopen(s);
    expect(await take(s, 'c', 1)).toEqual([4]);
  });

  it('resetConsumer moves the checkpoint', async () => {
    const s = await h.create();
    await fill(s, 0, 20);
    expect(await take(s, 'c', 15)).toHaveLength(15);
    const all = await collect(s.readAll());
    await s.resetConsumer('c', (all[2] as RecordedEvent).position);
    expect(await take(s, 'c', 2)).toEqual([3, 4]);
    await s.resetConsumer('c', 0);
    expect(await take(s, 'c', 1)).toEqual([0]);
    expect((await collect(s.readAll())).every((e) => !e.streamId.startsWith('$$'))).toBe(true);
    await expect(s.append('$$consumer-c', [{ type: 'x' }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it("lists each consumer's position, liveness, lag and filter", async () => {
    const s = await h.create();
    for (let i = 0; i < 40; i++) await s.append(`order-${i % 4}`, [{ type: i % 2 ? 'Odd' : 'Even', data: { i } }]);
    const run = async (consumer: string, n: number, filter?: { types: string }) => {
      let k = 0;
      for await (const _ of s.subscribe({ consumer, ...(filter ? { filter } : {}) })) if (++k === n) break;
    };
    await run('all', 10);
    await run('odd', 5, { types: 'Odd' });
    const live = s.subscribe({ consumer: 'live' });
    const consumers = await s.listConsumers();
    expect(consumers.map((c) => c.name)).toEqual(['all', 'live', 'odd']);
    expect(consumers.find((c) => c.name === 'live')).toMatchObject({ position: 0, lag: 40, live: true });
    const events = await collect(s.readAll());
    expect(consumers.find((c) => c.name === 'all')).toMatchObject({
      position: events[9]?.position,
      lag: 30,
      live: false,
      lagCapped: false,
    });
    expect(consumers.find((c) => c.name === 'odd')).toMatchObject({ position: events[9]?.position, lag: 15, filter: { types: 'Odd' } });
    expect((await s.listStreams({ limit: 1000 })).streams.some((x) => x.streamId.startsWith('$$'))).toBe(false);
    live.close();
  });

  it('refuses bad arguments with INVALID_ARGUMENT', async () => {
    const s = await h.create();
    await fill(s, 0, 3);
    const bad: [string, () => unknown][] = [
      ['empty name', () => s.subscribe({ consumer: '' })],
      ['name not a string', () => s.subscribe({ consumer: 3 as unknown as string })],
      ['control character', () => s.subscribe({ consumer: 'a\nb' })],
      ['bad from', () => s.subscribe({ consumer: 'c', from: 'middle' as 'end' })],
      ['from with after', () => s.subscribe({ consumer: 'c', after: 3 })],
      ['from without consumer', () => s.subscribe({ from: 'end' })],
      ['unknown option', () => s.subscribe({ consumr: 'c' } as unknown as { consumer: string })],
      ['bad filter', () => s.subscribe({ consumer: 'c', filter: { types: [] } })],
    ];
    for (const [what, call] of bad) expect(call, what).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const last = (await collect(s.readAll())).pop() as RecordedEvent;
    const notAnEvent = last.position + 1;
    await expect(s.resetConsumer('c', notAnEvent)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(s.resetConsumer('c', -1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(s.resetConsumer('', 0)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const err = await failure(async () => {
      for await (const _ of s.subscribe({ consumer: 'p', from: notAnEvent })) break;
    });
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
}
