import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { AnnalsError, type EventStore, type RecordedEvent } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';
import { json, serve, settled, watchSubscriptions } from './http-helpers.js';

async function fill(store: EventStore, n: number, data?: (i: number) => unknown, batch = 1_000): Promise<void> {
  for (let i = 0; i < n; i += batch) {
    const events = Array.from({ length: Math.min(batch, n - i) }, (_, k) => ({ type: 't', data: data?.(i + k) }));
    await store.append('s', events);
  }
}

/**
 * Subscribers in another thread that read as fast as they can, as remote clients would: the
 * server's socket buffers never fill, so only the server's own yielding lets other requests in.
 */
function remoteSubscribers(url: string, n: number): Worker {
  const code = `
    const http = require('node:http');
    const { workerData } = require('node:worker_threads');
    for (let i = 0; i < workerData.n; i++) http.get(workerData.url, (res) => res.on('data', () => {}));
  `;
  return new Worker(code, { eval: true, workerData: { url, n } });
}

/** An SSE reader in this thread: the ids it got, in order. */
async function readIds(url: string, n: number): Promise<number[]> {
  const ctrl = new AbortController();
  const res = await fetch(url, { signal: ctrl.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const ids: number[] = [];
  let text = '';
  while (ids.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
    const parts = text.split('\n\n');
    text = parts.pop() ?? '';
    for (const p of parts) if (p.startsWith('id: ')) ids.push(Number(p.slice(4, p.indexOf('\n'))));
  }
  ctrl.abort();
  return ids;
}

describe.each(ENGINES)('HTTP API subscribers (%s engine)', (engine) => {
  it('answers other requests while 20 subscribers catch up on 20,000 events', async () => {
    const store = await openStore(tempDir(), engine);
    const total = 20_000;
    await fill(store, total);
    const watched = watchSubscriptions(store);
    const base = await serve(store);
    let atStats: number[] = [];
    const stats = store.stats.bind(store);
    vi.spyOn(store, 'stats').mockImplementation(() => {
      atStats = [...watched.pulled];
      return stats();
    });
    const worker = remoteSubscribers(`${base}/api/subscribe`, 20);
    try {
      await vi.waitFor(() => expect(watched.pulled.filter((n) => n > 0)).toHaveLength(20), { timeout: 30_000, interval: 5 });
      const res = await fetch(`${base}/api/stats`);
      expect(res.status).toBe(200);
      expect((await json(res)).eventCount).toBe(total);
      // Stats answered while subscribers were still catching up: not after all of them were done.
      expect(atStats).toHaveLength(20);
      expect(atStats.reduce((a, b) => a + b, 0)).toBeLessThan(20 * total);
      expect(atStats.some((n) => n < total)).toBe(true);
    } finally {
      await worker.terminate();
    }
    await vi.waitFor(() => expect(watched.ended).toBe(20), { timeout: 30_000 });
  });

  it('delivers every event once and in order to a subscriber that catches up while yielding', async () => {
    const store = await openStore(tempDir(), engine);
    await fill(store, 5_000, (i) => ({ i }));
    const base = await serve(store);
    const expected = [];
    for await (const e of store.readAll()) expected.push(e.position);
    const [a, b] = await Promise.all([readIds(`${base}/api/subscribe`, 5_000), readIds(`${base}/api/subscribe`, 5_000)]);
    expect(a).toEqual(expected);
    expect(b).toEqual(expected);
  });

  it('refuses subscribers past maxSubscribers with 503 LIMIT_EXCEEDED, and a disconnect frees the slot', async () => {
    const store = await openStore(tempDir(), engine);
    await store.append('s', [{ type: 't' }]);
    const watched = watchSubscriptions(store);
    const base = await serve(store, { maxSubscribers: 2 });
    const open = async () => {
      const ctrl = new AbortController();
      const res = await fetch(`${base}/api/subscribe?from=end`, { signal: ctrl.signal });
      return { res, ctrl };
    };
    const one = await open();
    const two = await open();
    expect([one.res.status, two.res.status]).toEqual([200, 200]);
    const three = await open();
    expect(three.res.status).toBe(503);
    expect(three.res.headers.get('retry-after')).toBe('5');
    expect((await json(three.res)).error).toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining('2') });
    expect(watched.pulled).toHaveLength(2);
    one.ctrl.abort();
    await vi.waitFor(() => expect(watched.ended).toBe(1));
    const four = await open();
    expect(four.res.status).toBe(200);
    two.ctrl.abort();
    four.ctrl.abort();
    await vi.waitFor(() => expect(watched.ended).toBe(3));
  });

  it('stops reading for a client that stops reading, and lets go of its subscription when it leaves', async () => {
    const store = await openStore(tempDir(), engine);
    const total = 600;
    await fill(store, total, () => 'x'.repeat(48 << 10), 10);
    const watched = watchSubscriptions(store);
    const base = await serve(store, { subscriberBufferBytes: 64 << 10 });
    const { port } = new URL(base);
    const socket = net.connect(Number(port), '127.0.0.1');
    // Never read: what the kernel takes fills up, then the server must wait.
    socket.write('GET /api/subscribe HTTP/1.1\r\nHost: x\r\n\r\n');
    await vi.waitFor(() => expect(watched.pulled[0]).toBeGreaterThan(0));
    const stalled = await settled(() => watched.pulled[0] ?? 0);
    expect(stalled).toBeLessThan(total);
    expect(watched.ended).toBe(0);
    socket.destroy();
    await vi.waitFor(() => expect(watched.ended).toBe(1), { timeout: 10_000 });
    const res = await fetch(`${base}/api/stats`);
    expect(res.status).toBe(200);
  });

  it('ends the event stream with an error message when the store fails mid-stream, naming no server path', async () => {
    const dir = tempDir();
    const store = await openStore(dir, engine);
    await store.append('s', [{ type: 't' }]);
    const [first] = await store.readStream('s');
    vi.spyOn(store, 'subscribe').mockImplementation(() => ({
      close: () => {},
      async *[Symbol.asyncIterator](): AsyncGenerator<RecordedEvent> {
        yield first as RecordedEvent;
        throw new AnnalsError('CORRUPTION', `damaged record in ${dir}/chunks/00000000.chunk at 4096`);
      },
    }));
    const base = await serve(store);
    const text = await (await fetch(`${base}/api/subscribe`)).text();
    expect(text).toContain(`id: ${first?.position}\n`);
    expect(text).toContain(
      'event: error\ndata: {"error":{"code":"CORRUPTION","message":"damaged record in <store>/chunks/00000000.chunk at 4096"}}',
    );
    expect(text).not.toContain(dir);
  });
});
