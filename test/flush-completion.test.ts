/**
 * For flushPollMicros after a flush starts, the event loop keeps turning instead of sleeping
 * (engine/flush-poller.ts). The native engine then settles each flush's promise by whichever
 * comes first: the flusher thread's wake-up call, or a poll (pollFlushes). Either way every
 * promise settles once, in order.
 */
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../lib/index.js';
import type { NativeLogHandle } from '../lib/native.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

const native = ENGINES.includes('native');

function handleOf(s: EventStore): NativeLogHandle {
  // The store's log is the engine behind the log that reads scavenged chunks (scavenged-log.ts).
  // biome-ignore lint/suspicious/noExplicitAny: the test drives the addon's log directly
  return (s as any).engine.inner.log;
}

describe.each(ENGINES)('flush completion (%s engine)', (engine) => {
  it.each([0, 1000, 1_000_000])('appends settle in order with flushPollMicros %i', async (flushPollMicros) => {
    const s = await openStore(tempDir(), engine, { flushPollMicros });
    // Concurrent appends share flushes; then one at a time, each waiting for its own.
    const resolved: number[] = [];
    const concurrent = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        s.append(`c-${i % 5}`, [{ type: 'e', data: { i } }]).then((r) => {
          resolved.push(i);
          return r;
        }),
      ),
    );
    expect(resolved).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(concurrent.map((r) => r.position)).toEqual([...concurrent.map((r) => r.position)].sort((a, b) => a - b));
    for (let i = 0; i < 20; i++) {
      const r = await s.append('one', [{ type: 'e' }], { expectedVersion: i });
      expect(r.lastVersion).toBe(i + 1);
    }
    expect(await s.streamVersion('c-0')).toBe(10);
    await s.close();
  });
});

describe.runIf(native)('flush completion by poll (native engine)', () => {
  it('a poll settles finished flushes without the wake-up, and the wake-ups that follow change nothing', async () => {
    const s = await openStore(tempDir(), 'native', { durability: 'none', flushPollMicros: 0 });
    await s.append('a', [{ type: 'e' }]);
    const log = handleOf(s);
    const settled: number[] = [];
    const flushes = [0, 1, 2].map((k) => log.flush().then(() => settled.push(k)));
    // Spin without yielding to the event loop: only a poll can settle them now.
    const deadline = Date.now() + 10_000;
    while (log.pollFlushes() > 0) if (Date.now() > deadline) throw new Error('pollFlushes never saw the flushes finish');
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toEqual([0, 1, 2]);
    await Promise.all(flushes);
    // The wake-up calls for those flushes arrive now and find nothing to settle; a later flush,
    // not polled, settles through its own wake-up.
    await new Promise((r) => setTimeout(r, 20));
    await log.flush();
    expect(log.pollFlushes()).toBe(0);
    expect(settled).toEqual([0, 1, 2]);
    await s.close();
  });
});
