/** The contract of subscriptions: catch-up then live, no gap, no duplicate, clean endings. */
import { expect, it } from 'vitest';
import type { RecordedEvent } from '../types.js';
import { appendN, collect, failure, type Harness, take } from './harness.js';

export function subscriptionTests(h: Harness): void {
  it('catches up, then stays live, with no gap and no duplicate across the switch', async () => {
    const s = await h.create();
    await appendN(s, 'a', 30, 'old');
    const got = take(s.subscribe(), 130);
    for (let k = 0; k < 10; k++) await appendN(s, k % 2 ? 'a' : 'b', 10, `live${k}`);
    const events = await got;
    expect(events).toHaveLength(130);
    const positions = events.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(new Set(positions).size).toBe(130);
    expect(positions).toEqual((await collect(s.readAll())).map((e) => e.position));
  });

  it('starts strictly after a position, at the end, or on one stream only', async () => {
    const s = await h.create();
    await appendN(s, 'x', 5, 'x');
    await appendN(s, 'y', 5, 'y');
    const [third] = await s.readStream('x', { fromVersion: 3, limit: 1 });
    const fromLog = take(s.subscribe({ after: third!.position }), 7);
    const fromStream = take(s.subscribe({ streamId: 'x', after: third!.position }), 3);
    const whole = take(s.subscribe({ streamId: 'y' }), 6);
    const fromEnd = take(s.subscribe({ fromEnd: true }), 2);
    const streamFromEnd = take(s.subscribe({ streamId: 'y', fromEnd: true }), 1);
    await s.append('x', [{ type: 'T', data: 'x-new' }]);
    await s.append('y', [{ type: 'T', data: 'y-new' }]);
    expect((await fromLog).map((e) => e.data)).toEqual(['x-3', 'x-4', 'y-0', 'y-1', 'y-2', 'y-3', 'y-4']);
    expect((await fromStream).map((e) => e.version)).toEqual([4, 5, 6]);
    expect((await whole).map((e) => e.data)).toEqual(['y-0', 'y-1', 'y-2', 'y-3', 'y-4', 'y-new']);
    expect((await fromEnd).map((e) => e.data)).toEqual(['x-new', 'y-new']);
    expect((await streamFromEnd).map((e) => e.data)).toEqual(['y-new']);
  });

  it('ends when closed or when the store closes', async () => {
    const s = await h.create();
    await appendN(s, 'a', 2, 'a');
    const sub = s.subscribe();
    const seen: RecordedEvent[] = [];
    const done = (async () => {
      for await (const e of sub) seen.push(e);
    })();
    await new Promise((r) => setTimeout(r, 50));
    sub.close();
    await done;
    expect(seen).toHaveLength(2);
    const other = s.subscribe({ streamId: 'a' });
    const done2 = (async () => {
      let n = 0;
      for await (const _ of other) n++;
      return n;
    })();
    await new Promise((r) => setTimeout(r, 50));
    await s.close();
    expect(await done2).toBe(2);
    expect(() => s.subscribe()).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }));
  });

  it('refuses a position that is no event, by its first step at the latest', async () => {
    const s = await h.create();
    await appendN(s, 'a', 2, 'a');
    const [, last] = await s.readStream('a');
    const first = (options: Parameters<typeof s.subscribe>[0]) => failure(() => take(s.subscribe(options), 1));
    expect(await first({ after: last!.position + 1 })).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await first({ streamId: 'a', after: last!.position + 1 })).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => s.subscribe({ after: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => s.subscribe({ streamId: '' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
}
