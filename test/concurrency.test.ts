import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../lib/index.js';
import { collect, ENGINES, openStore, tempDir } from './helpers.js';

describe.each(ENGINES)('concurrency (%s engine)', (engine) => {
  it('readers and subscribers see a consistent prefix while writes, segment builds and merges run', async () => {
    const s = await openStore(tempDir(), engine, { indexMemtableEntries: 60, maxIndexSegments: 3 });
    const TOTAL = 600;
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
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < TOTAL / 4; i++) await s.append(`s-${(w + i) % 5}`, [{ type: 'T', data: { w, i } }]);
    });
    await Promise.all(writers);
    done = true;
    expect(await reader).toBeGreaterThan(0);
    await subscriber;
    checkPrefix(seen);
    expect(seen.map((e) => e.position)).toEqual((await collect(s.readAll())).map((e) => e.position));
    expect((await s.stats()).index.streamSegments).toBeLessThanOrEqual(3);
  });
});
