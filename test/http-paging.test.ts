import { describe, expect, it } from 'vitest';
import type { EventStore } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';
import { json, serve } from './http-helpers.js';

interface Page {
  events: { streamId: string; version: number; position: number; data?: unknown }[];
  next: number | null;
}

async function page(url: string): Promise<Page> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return (await res.json()) as Page;
}

/** Follows `next` from `first` to the end; `param` is the query parameter `next` feeds. */
async function pageThrough(base: string, first: string, param: string): Promise<Page['events']> {
  const out: Page['events'] = [];
  let url = `${base}${first}`;
  for (let pages = 0; pages < 10_000; pages++) {
    const p = await page(url);
    out.push(...p.events);
    if (p.next === null) return out;
    expect(p.events.length).toBeGreaterThan(0);
    const u = new URL(url);
    u.searchParams.set(param, String(p.next));
    url = u.toString();
  }
  throw new Error('no end');
}

async function fill(store: EventStore, streams: string[], n: number): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    await store.appendMany(
      streams.map((s) => ({
        streamId: s,
        events: Array.from({ length: Math.min(500, n - i) }, (_, k) => ({ type: 'T', data: { i: i + k } })),
      })),
    );
  }
}

describe.each(ENGINES)('HTTP API pages (%s engine)', (engine) => {
  it('refuses a limit above the maximum page on every list, and says what the maximum is', async () => {
    const store = await openStore(tempDir(), engine);
    await store.append('s', [{ type: 'T' }], { commandId: 'c' });
    const base = await serve(store);
    for (const url of [
      '/api/all?limit=1000000000',
      '/api/all?limit=1001',
      '/api/streams/s?limit=1001',
      '/api/commands/c?limit=5000',
      '/api/streams?limit=1001',
    ]) {
      const res = await fetch(`${base}${url}`);
      expect(res.status, url).toBe(400);
      const { error } = (await json(res)) as { error: { code: string; message: string } };
      expect(error.code, url).toBe('INVALID_ARGUMENT');
      expect(error.message, url).toContain('1000');
    }
    for (const url of ['/api/all?limit=0', '/api/all?limit=1.5', '/api/all?limit=x', '/api/streams/s?limit=-1']) {
      expect((await fetch(`${base}${url}`)).status, url).toBe(400);
    }
    expect((await fetch(`${base}/api/all?limit=1000`)).status).toBe(200);
    const small = await serve(store, { maxPageSize: 10 });
    expect((await fetch(`${small}/api/all?limit=11`)).status).toBe(400);
    expect((await page(`${small}/api/all?limit=10`)).events).toHaveLength(1);
  });

  it('pages through the log and a long stream with next, every event exactly once, in both directions', async () => {
    const store = await openStore(tempDir(), engine);
    await fill(store, ['long', 'other'], 2_600);
    const base = await serve(store);

    const first = await page(`${base}/api/all`);
    expect(first.events).toHaveLength(100);
    expect(first.next).toBe(first.events[99]?.position);
    const all = await pageThrough(base, '/api/all?limit=1000', 'after');
    expect(all).toHaveLength(5_200);
    const positions = all.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(positions).size).toBe(5_200);
    const tail = await page(`${base}/api/all?after=${positions[5_199 - 3]}`);
    expect(tail.events).toHaveLength(3);
    expect(tail.next).toBeNull();

    const unbounded = await page(`${base}/api/streams/long`);
    expect(unbounded.events.map((e) => e.version)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(unbounded.next).toBe(101);
    const forward = await pageThrough(base, '/api/streams/long?limit=333', 'fromVersion');
    expect(forward.map((e) => e.version)).toEqual(Array.from({ length: 2_600 }, (_, i) => i + 1));
    const backward = await pageThrough(base, '/api/streams/long?direction=backward&limit=1000', 'fromVersion');
    expect(backward.map((e) => e.version)).toEqual(Array.from({ length: 2_600 }, (_, i) => 2_600 - i));
    const middle = await page(`${base}/api/streams/long?direction=backward&fromVersion=150&limit=50`);
    expect([middle.events[0]?.version, middle.events.at(-1)?.version, middle.next]).toEqual([150, 101, 100]);
    expect((await page(`${base}/api/streams/long?fromVersion=2600`)).next).toBeNull();
    expect((await page(`${base}/api/streams/long?direction=backward&fromVersion=1`)).next).toBeNull();
    expect(await page(`${base}/api/streams/missing`)).toMatchObject({ events: [], next: null, version: 0 });
  });

  it("pages through a large command's events", async () => {
    const store = await openStore(tempDir(), engine);
    const items = Array.from({ length: 250 }, (_, i) => ({ streamId: `s-${i % 7}`, events: [{ type: 'T', data: { i } }] }));
    await store.appendMany(items, { commandId: 'big' });
    const base = await serve(store);
    const first = (await page(`${base}/api/commands/big`)) as Page & { commandId: string };
    expect(first.commandId).toBe('big');
    expect(first.events).toHaveLength(100);
    const events = await pageThrough(base, '/api/commands/big?limit=60', 'after');
    expect(events.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect((await fetch(`${base}/api/commands/none`)).status).toBe(404);
  });

  it('cuts a page at maxPageBytes (at least one event per page) and pages on from there', async () => {
    const store = await openStore(tempDir(), engine);
    await store.append(
      's',
      Array.from({ length: 40 }, (_, i) => ({ type: 'T', data: { i, pad: 'x'.repeat(1_000) } })),
    );
    await store.append('s', [{ type: 'Huge', data: 'y'.repeat(20_000) }]);
    const base = await serve(store, { maxPageBytes: 8_000 });
    const first = await page(`${base}/api/all?limit=1000`);
    expect(first.events.length).toBeGreaterThan(1);
    expect(first.events.length).toBeLessThan(10);
    const all = await pageThrough(base, '/api/all?limit=1000', 'after');
    expect(all.map((e) => e.version)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    const backward = await page(`${base}/api/streams/s?direction=backward&limit=1000`);
    expect(backward.events.map((e) => e.version)).toEqual([41]);
    expect(backward.next).toBe(40);
    const stream = await pageThrough(base, '/api/streams/s?limit=1000', 'fromVersion');
    expect(stream.map((e) => e.version)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
  });
});
