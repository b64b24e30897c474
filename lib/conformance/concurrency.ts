/** The contract under concurrency within one process: one winner per expected version, and
 * readers and subscribers that only ever see a consistent prefix of the log. */
import { expect, it } from 'vitest';
import { WrongExpectedVersionError } from '../errors.js';
import type { RecordedEvent } from '../types.js';
import { collect, type Harness } from './harness.js';

export function concurrencyTests(h: Harness): void {
  it('of competing appends expecting the same version exactly one wins; none lost or duplicated', async () => {
    const s = await h.create();
    const STREAMS = 8;
    const ROUNDS = 20;
    const CONTENDERS = 5;
    let wins = 0;
    for (let v = 0; v < ROUNDS; v++) {
      const attempts = [];
      for (let k = 0; k < STREAMS; k++) {
        for (let c = 0; c < CONTENDERS; c++) attempts.push(s.append(`s-${k}`, [{ type: 'T', data: { k, v, c } }], { expectedVersion: v }));
      }
      for (const r of await Promise.allSettled(attempts)) {
        if (r.status === 'fulfilled') wins++;
        else expect(r.reason).toBeInstanceOf(WrongExpectedVersionError);
      }
    }
    expect(wins).toBe(STREAMS * ROUNDS);
    const all = await collect(s.readAll());
    expect(all).toHaveLength(STREAMS * ROUNDS);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    for (let k = 0; k < STREAMS; k++) {
      expect((await s.readStream(`s-${k}`)).map((e) => (e.data as { v: number }).v)).toEqual(Array.from({ length: ROUNDS }, (_, i) => i));
    }
  });

  it('readers and subscribers see a consistent prefix while writes run', async () => {
    const s = await h.create();
    const TOTAL = 400;
    const seen: RecordedEvent[] = [];
    const sub = s.subscribe();
    const subscriber = (async () => {
      for await (const e of sub) {
        seen.push(e);
        if (seen.length === TOTAL) break;
      }
    })();
    let done = false;
    const checkPrefix = (events: RecordedEvent[]) => {
      const next = new Map<string, number>();
      let last = 0;
      for (const e of events) {
        expect(e.position).toBeGreaterThan(last);
        expect(e.version).toBe((next.get(e.streamId) ?? 0) + 1);
        next.set(e.streamId, e.version);
        last = e.position;
      }
    };
    const reader = (async () => {
      let reads = 0;
      while (!done) {
        checkPrefix(await collect(s.readAll()));
        const stream = `s-${reads % 5}`;
        const events = await s.readStream(stream);
        expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
        expect(await s.streamVersion(stream)).toBeGreaterThanOrEqual(events.length);
        reads++;
        await new Promise((r) => setImmediate(r));
      }
      return reads;
    })();
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < TOTAL / 4; i++) await s.append(`s-${(w + i) % 5}`, [{ type: 'T', data: { w, i } }]);
      }),
    );
    done = true;
    expect(await reader).toBeGreaterThan(0);
    await subscriber;
    checkPrefix(seen);
    expect(seen.map((e) => e.position)).toEqual((await collect(s.readAll())).map((e) => e.position));
  });
}
