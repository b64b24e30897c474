import { describe, expect, it } from 'vitest';
import type { EventStore, RecordedEvent } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

/** Collects `n` events from an async iterable, then stops. */
async function take(it: AsyncIterable<RecordedEvent>, n: number): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  if (n === 0) return out;
  for await (const e of it) {
    out.push(e);
    if (out.length >= n) break;
  }
  return out;
}

async function appendN(s: EventStore, stream: string, n: number, tag: string): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => s.append(stream, [{ type: 'T', data: `${tag}-${i}` }])));
}

describe.each(ENGINES)('subscriptions (%s engine)', (engine) => {
  it('catches up, then stays live, with no gap and no duplicate across the switch', async () => {
    const s = await openStore(tempDir(), engine, { indexMemtableEntries: 64 });
    await appendN(s, 'a', 30, 'old');
    const sub = s.subscribe();
    const got = take(sub, 130);
    // Appends race with the catch-up.
    for (let k = 0; k < 10; k++) await appendN(s, k % 2 ? 'a' : 'b', 10, `live${k}`);
    const events = await got;
    expect(events).toHaveLength(130);
    const positions = events.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(new Set(positions).size).toBe(130);
    const all: RecordedEvent[] = [];
    for await (const e of s.readAll()) all.push(e);
    expect(positions).toEqual(all.map((e) => e.position));
  });

  it('starts strictly after a position, and one stream only', async () => {
    const s = await openStore(tempDir(), engine);
    await appendN(s, 'x', 5, 'x');
    await appendN(s, 'y', 5, 'y');
    const [third] = await s.readStream('x', { fromVersion: 3, limit: 1 });
    const fromLog = take(s.subscribe({ after: third!.position }), 7);
    const fromStream = take(s.subscribe({ streamId: 'x', after: third!.position }), 3);
    const whole = take(s.subscribe({ streamId: 'y' }), 6);
    await s.append('x', [{ type: 'T', data: 'x-new' }]);
    await s.append('y', [{ type: 'T', data: 'y-new' }]);
    expect((await fromLog).map((e) => e.data)).toEqual(['x-3', 'x-4', 'y-0', 'y-1', 'y-2', 'y-3', 'y-4']);
    expect((await fromStream).map((e) => e.version)).toEqual([4, 5, 6]);
    expect((await whole).map((e) => e.data)).toEqual(['y-0', 'y-1', 'y-2', 'y-3', 'y-4', 'y-new']);
  });

  it('ends when closed or when the store closes, and rejects bad options', async () => {
    const s = await openStore(tempDir(), engine);
    await appendN(s, 'a', 2, 'a');
    const sub = s.subscribe();
    const seen: RecordedEvent[] = [];
    const done = (async () => {
      for await (const e of sub) seen.push(e);
    })();
    await new Promise((r) => setTimeout(r, 20));
    sub.close();
    await done;
    expect(seen).toHaveLength(2);
    const other = s.subscribe({ streamId: 'a' });
    const done2 = (async () => {
      let n = 0;
      for await (const _ of other) n++;
      return n;
    })();
    await new Promise((r) => setTimeout(r, 20));
    await s.close();
    expect(await done2).toBe(2);
    expect(() => s.subscribe()).toThrow(/closed/);
  });

  it('rejects a position that is not an event', async () => {
    const s = await openStore(tempDir(), engine);
    await appendN(s, 'a', 2, 'a');
    expect(() => s.subscribe({ after: 65 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => s.subscribe({ after: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => s.subscribe({ streamId: '' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
