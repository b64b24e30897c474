/** The HTTP API's read-model routes: every stream, categories, event types, the filtered log, stream pages and consumers. */
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';
import { json, serve } from './http-helpers.js';

interface Ev {
  streamId: string;
  version: number;
  type: string;
  position: number;
}
interface EventPage {
  events: Ev[];
  next: number | null;
}

async function get<T = Record<string, unknown>>(url: string, status = 200): Promise<T> {
  const res = await fetch(url);
  const body = await json(res);
  expect(res.status, `${url}: ${JSON.stringify(body).slice(0, 200)}`).toBe(status);
  return body as T;
}

async function badRequest(url: string, says: RegExp): Promise<void> {
  const { error } = await get<{ error: { code: string; message: string } }>(url, 400);
  expect(error.code, url).toBe('INVALID_ARGUMENT');
  expect(error.message, url).toMatch(says);
}

/** Follows `next` through every page of `path`, feeding it to `param`. */
async function pages<T>(base: string, path: string, param: string, items: (p: Record<string, unknown>) => T[]): Promise<T[]> {
  const out: T[] = [];
  let next: unknown = null;
  for (let n = 0; n < 1000; n++) {
    const u = new URL(`${base}${path}`);
    if (next !== null) u.searchParams.set(param, String(next));
    const p = await get(u.toString());
    out.push(...items(p));
    next = p.next;
    if (next === null) return out;
  }
  throw new Error('no end');
}

async function fill(store: EventStore): Promise<void> {
  for (let i = 0; i < 30; i++) {
    await store.append(`order-${String(i).padStart(2, '0')}`, [{ type: 'Placed', data: { i } }, { type: i % 3 === 0 ? 'Paid' : 'Viewed' }]);
    await store.append(`cart-${i}`, [{ type: 'Added' }]);
  }
  await store.append('plain', [{ type: 'Note' }]);
}

describe.each(ENGINES)('HTTP read models (%s engine)', (engine) => {
  it('lists every stream in pages with a prefix, including streams written before the server started', async () => {
    const store = await openStore(tempDir(), engine);
    await fill(store);
    const base = await serve(store);
    const all = await pages(base, '/api/streams?limit=7', 'after', (p) => p.streams as { streamId: string }[]);
    expect(all).toHaveLength(61);
    expect(all.map((s) => s.streamId)).toEqual([...all.map((s) => s.streamId)].sort());
    const orders = await pages(
      base,
      '/api/streams?limit=4&prefix=order-',
      'after',
      (p) => p.streams as { streamId: string; version: number }[],
    );
    expect(orders).toHaveLength(30);
    expect(orders[0]).toMatchObject({
      streamId: 'order-00',
      version: 2,
      firstPosition: expect.any(Number),
      lastPosition: expect.any(Number),
    });
    expect(await get(`${base}/api/streams?prefix=zzz`)).toEqual({ streams: [], next: null });
    await badRequest(`${base}/api/streams?limit=0`, /limit.*>= 1.*got number 0/);
    await badRequest(`${base}/api/streams?limit=1000000`, /limit.*<= 1000/);
    await badRequest(`${base}/api/streams?sort=asc`, /unknown query field 'sort'/);
  });

  it('reads a category and an event type a page at a time, both directions, and the filtered global log', async () => {
    const store = await openStore(tempDir(), engine);
    await fill(store);
    const base = await serve(store);
    const orders = await pages(base, '/api/categories/order/events?limit=7', 'after', (p) => (p as unknown as EventPage).events);
    expect(orders).toHaveLength(60);
    expect(orders.every((e) => e.streamId.startsWith('order-'))).toBe(true);
    const positions = orders.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    const back = await pages(
      base,
      '/api/categories/order/events?limit=9&direction=backward',
      'after',
      (p) => (p as unknown as EventPage).events,
    );
    expect(back.map((e) => e.position)).toEqual([...positions].reverse());
    const paid = await pages(base, '/api/types/Paid/events?limit=3', 'after', (p) => (p as unknown as EventPage).events);
    expect(paid).toHaveLength(10);
    expect(paid.every((e) => e.type === 'Paid')).toBe(true);
    expect((await get(`${base}/api/types/None/events`)).events).toEqual([]);
    await badRequest(`${base}/api/categories/a-b/events`, /contains '-'/);
    await badRequest(`${base}/api/types/Paid/events?direction=sideways`, /direction.*got string "sideways"/);
    await badRequest(`${base}/api/types/Paid/events?limit=0`, /limit/);
    await badRequest(`${base}/api/types/Paid/events?from=1`, /unknown query field 'from'/);

    const filtered = await pages(
      base,
      '/api/all?limit=5&category=order&types=Paid&types=Placed',
      'after',
      (p) => (p as unknown as EventPage).events,
    );
    expect(filtered).toHaveLength(40);
    expect(filtered.every((e) => e.streamId.startsWith('order-') && (e.type === 'Paid' || e.type === 'Placed'))).toBe(true);
    const prefixed = await pages(base, '/api/all?limit=50&streamPrefix=cart-1', 'after', (p) => (p as unknown as EventPage).events);
    expect(prefixed.map((e) => e.streamId).sort()).toEqual(['cart-1', ...Array.from({ length: 10 }, (_, i) => `cart-1${i}`)].sort());
    expect(await pages(base, '/api/all?limit=1000', 'after', (p) => (p as unknown as EventPage).events)).toHaveLength(91);
    await badRequest(`${base}/api/all?limit=1000000`, /<= 1000/);
    await badRequest(`${base}/api/all?limit=0`, />= 1/);
    await badRequest(`${base}/api/all?filter=x`, /unknown query field 'filter'/);
    await badRequest(`${base}/api/all?types=`, /types/);
    await badRequest(`${base}/api/all?after=-1`, /after/);
  });

  it('pages back through all of a long stream with before, and forward with after', async () => {
    const store = await openStore(tempDir(), engine);
    for (let i = 0; i < 2500; i += 500)
      await store.append(
        'long',
        Array.from({ length: 500 }, (_, k) => ({ type: 'T', data: { i: i + k } })),
      );
    const base = await serve(store);
    const first = await get<EventPage & { version: number }>(`${base}/api/streams/long/events?limit=100`);
    expect(first.version).toBe(2500);
    expect(first.events[0]?.version).toBe(2500);
    expect(first.next).toBe(2401);
    const back = await pages(base, '/api/streams/long/events?limit=1000', 'before', (p) => (p as unknown as EventPage).events);
    expect(back.map((e) => e.version)).toEqual(Array.from({ length: 2500 }, (_, i) => 2500 - i));
    const fwd = await pages(
      base,
      '/api/streams/long/events?limit=300&direction=forward',
      'after',
      (p) => (p as unknown as EventPage).events,
    );
    expect(fwd.map((e) => e.version)).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
    expect((await get(`${base}/api/streams/long/events?after=2500`)).events).toEqual([]);
    expect((await get(`${base}/api/streams/long/events?before=1`)).events).toEqual([]);
    expect((await get(`${base}/api/streams/none/events`)).events).toEqual([]);
    await badRequest(`${base}/api/streams/long/events?before=5&after=2`, /before or after/);
    await badRequest(`${base}/api/streams/long/events?before=0`, /before.*>= 1/);
    await badRequest(`${base}/api/streams/long/events?after=2&direction=backward`, /contradicts/);
    await badRequest(`${base}/api/streams/long/events?limit=1.5`, /limit.*integer/);
    await badRequest(`${base}/api/streams/long/x`, /version.*integer/);
  });

  it('lists durable consumers with their lag and resets one; a busy consumer is 409, a deleted stream 410, a read-only store refuses the reset', async () => {
    const dir = tempDir();
    const store = await openStore(dir, engine);
    await fill(store);
    const sub = store.subscribe({ consumer: 'billing', filter: { category: 'order' } });
    let n = 0;
    for await (const _ of sub) if (++n === 10) break;
    await sub.checkpoint();
    const base = await serve(store);
    const { consumers } = await get<{ consumers: { name: string; position: number; lag: number; live: boolean }[] }>(
      `${base}/api/consumers`,
    );
    expect(consumers).toHaveLength(1);
    expect(consumers[0]).toMatchObject({ name: 'billing', live: false, lag: 50, lagCapped: false, filter: { category: 'order' } });
    const post = (name: string, body: unknown) =>
      fetch(`${base}/api/consumers/${name}/reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const reset = await post('billing', { position: 0 });
    expect(reset.status).toBe(200);
    expect((await get<{ consumers: { lag: number }[] }>(`${base}/api/consumers`)).consumers[0]?.lag).toBe(60); // its filter kept;
    const bad = await post('billing', { position: 'x' });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/position.*got string "x"/) });
    const extra = await post('billing', { position: 0, force: true });
    expect((await json(extra)).error).toMatchObject({ code: 'INVALID_ARGUMENT', message: "unknown body field 'force'" });
    expect((await post('billing', {})).status).toBe(400);
    await badRequest(`${base}/api/consumers?all=1`, /unknown query field 'all'/);
    const running = store.subscribe({ consumer: 'running' });
    const busy = await post('running', { position: 0 });
    expect(busy.status).toBe(409);
    expect((await json(busy)).error).toMatchObject({ code: 'CONSUMER_BUSY' });
    running.close();
    await store.deleteStream('plain', { hard: true });
    const gone = await fetch(`${base}/api/streams/plain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ type: 'X' }] }),
    });
    expect(gone.status).toBe(410);
    expect((await json(gone)).error).toMatchObject({ code: 'STREAM_DELETED' });
    await store.close();

    const ro = await openStore(dir, engine, { readOnly: true });
    const roBase = await serve(ro);
    const refused = await fetch(`${roBase}/api/consumers/billing/reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ position: 0 }),
    });
    expect(refused.status).toBe(403);
    expect((await json(refused)).error).toMatchObject({ code: 'READ_ONLY' });
    expect((await get<{ consumers: unknown[] }>(`${roBase}/api/consumers`)).consumers).toHaveLength(1);
  });

  it('streams a filtered global log over Server-Sent Events', async () => {
    const store = await openStore(tempDir(), engine);
    await fill(store);
    const base = await serve(store);
    const ctrl = new AbortController();
    const res = await fetch(`${base}/api/subscribe?types=Paid&category=order`, { signal: ctrl.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const got: Ev[] = [];
    let text = '';
    await store.append('order-99', [{ type: 'Viewed' }, { type: 'Paid' }]);
    while (got.length < 11) {
      const { value } = await reader.read();
      text += Buffer.from(value as Uint8Array).toString();
      const parts = text.split('\n\n');
      text = parts.pop() ?? '';
      for (const p of parts) {
        const data = p.split('\n').find((l) => l.startsWith('data: '));
        if (data) got.push(JSON.parse(data.slice(6)));
      }
    }
    ctrl.abort();
    expect(got.every((e) => e.type === 'Paid' && e.streamId.startsWith('order-'))).toBe(true);
    expect(got.at(-1)?.streamId).toBe('order-99');
    await badRequest(`${base}/api/subscribe?types=Paid&streamId=order-1`, /filter/);
    await badRequest(`${base}/api/subscribe?category=`, /category/);
  });

  it('reports stats with disk use per chunk and an activity history; unknown routes are 404 in the error shape', async () => {
    const dir = tempDir();
    const store = await openStore(dir, engine);
    await fill(store);
    const base = await serve(store);
    const stats = await get<{ chunks: { file: string; bytesOnDisk: number }[]; flushTimeMs: number; index: { segmentBuilds: number } }>(
      `${base}/api/stats`,
    );
    expect(stats.chunks.length).toBeGreaterThan(0);
    expect(stats.chunks[0]?.file).toMatch(/\.chunk$/);
    expect(stats.chunks[0]?.bytesOnDisk).toBeGreaterThan(0);
    expect(stats.flushTimeMs).toBeGreaterThanOrEqual(0);
    expect(typeof stats.index.segmentBuilds).toBe('number');
    await new Promise((r) => setTimeout(r, 300));
    await store.append('late', [{ type: 'T' }]);
    const history = await get<{ intervalMs: number; points: { appendsPerSec: number; at: number }[] }>(`${base}/api/stats/history`);
    expect(history.intervalMs).toBeGreaterThan(0);
    expect(history.points.length).toBeGreaterThan(0);
    expect(history.points.at(-1)?.appendsPerSec).toBeGreaterThan(0);
    const missing = await fetch(`${base}/api/nothing/here?x=1`);
    expect(missing.status).toBe(404);
    const body = JSON.stringify(await json(missing));
    expect(body).toContain('"code":"NOT_FOUND"');
    expect(body).not.toContain(dir);
  });
});
