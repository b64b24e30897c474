import { describe, expect, it } from 'vitest';
import { ENGINES, openStore, tempDir } from './helpers.js';
import { json, serve } from './http-helpers.js';

describe.each(ENGINES)('HTTP API (%s engine)', (engine) => {
  it('appends and reads streams, events, commands and the log; errors carry the store code', async () => {
    const store = await openStore(tempDir(), engine);
    const base = await serve(store);
    const post = (id: string, body: unknown) =>
      fetch(`${base}/api/streams/${encodeURIComponent(id)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const created = await post('order-1', {
      events: [
        { type: 'Placed', data: { n: 1 } },
        { type: 'Blob', data: { $bytes: 'AAEC' } },
      ],
      commandId: 'c1',
    });
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({ streamId: 'order-1', firstVersion: 1, lastVersion: 2, commandId: 'c1' });
    const stream = await json(await fetch(`${base}/api/streams/order-1`));
    expect(stream.version).toBe(2);
    expect((stream.events as { data: unknown }[]).map((e) => e.data)).toEqual([{ n: 1 }, { $bytes: 'AAEC' }]);
    expect((await json(await fetch(`${base}/api/streams/order-1?direction=backward&limit=1`))).events).toHaveLength(1);
    expect(await json(await fetch(`${base}/api/streams/order-1/1`))).toMatchObject({ type: 'Placed', version: 1 });
    expect((await fetch(`${base}/api/streams/order-1/9`)).status).toBe(404);
    expect(((await json(await fetch(`${base}/api/commands/c1`))).events as unknown[]).length).toBe(2);
    expect((await fetch(`${base}/api/commands/none`)).status).toBe(404);
    expect(((await json(await fetch(`${base}/api/all?limit=1`))).events as unknown[]).length).toBe(1);
    expect(await json(await fetch(`${base}/api/streams`))).toEqual({
      streams: [{ streamId: 'order-1', version: 2, firstPosition: expect.any(Number), lastPosition: expect.any(Number) }],
      next: null,
    });
    expect(await json(await fetch(`${base}/api/stats`))).toMatchObject({ eventCount: 2, engine });

    const wrong = await post('order-1', { events: [{ type: 'X' }], expectedVersion: 0 });
    expect(wrong.status).toBe(409);
    expect((await json(wrong)).error).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', actualVersion: 2, streamId: 'order-1' });
    const dup = await post('order-2', { events: [{ type: 'X' }], commandId: 'c1' });
    expect(dup.status).toBe(409);
    expect((await json(dup)).error).toMatchObject({ code: 'DUPLICATE_COMMAND', commandId: 'c1' });
    const bad = await post('order-2', { events: [] });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    // A JSON body is not coerced: the string "1" is not the version 1.
    const stringVersion = await post('order-1', { events: [{ type: 'X' }], expectedVersion: '1' });
    expect(stringVersion.status).toBe(400);
    expect((await json(stringVersion)).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('got string "1"'),
    });
    const extraField = await post('order-1', { events: [{ type: 'X', payload: 1 }] });
    expect((await json(extraField)).error).toMatchObject({ code: 'INVALID_ARGUMENT', message: "unknown body field 'payload' in events.0" });
    expect((await post('order-1', { events: [{ type: 'X' }], expectedVersion: 'any' })).status).toBe(201);
    const notJson = await fetch(`${base}/api/streams/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(notJson.status).toBe(400);
    expect((await fetch(`${base}/api/streams/order-1?limit=-3`)).status).toBe(400);
    expect(await store.streamVersion('order-2')).toBe(0);
  });

  it('requires the token when one is set, and limits request bodies', async () => {
    const store = await openStore(tempDir(), engine);
    const base = await serve(store, { token: 's3cret', bodyLimit: 1024 });
    expect((await fetch(`${base}/api/stats`)).status).toBe(401);
    expect((await fetch(`${base}/api/stats`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${base}/api/stats`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect((await fetch(`${base}/api/stats?token=s3cret`)).status).toBe(200);
    const big = await fetch(`${base}/api/streams/a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret' },
      body: JSON.stringify({ events: [{ type: 'X', data: 'y'.repeat(5000) }] }),
    });
    expect(big.status).toBe(413);
    expect((await json(big)).error).toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it('streams new events over Server-Sent Events, after a position or from the end', async () => {
    const store = await openStore(tempDir(), engine);
    const base = await serve(store);
    const first = await store.append('a', [{ type: 'one' }]);
    const readEvents = async (url: string, n: number, during: () => Promise<void>) => {
      const ctrl = new AbortController();
      const res = await fetch(url, { signal: ctrl.signal });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const got: { type: string; position: number }[] = [];
      let text = '';
      await during();
      while (got.length < n) {
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
      return got;
    };
    const all = await readEvents(`${base}/api/subscribe`, 2, () => store.append('a', [{ type: 'two' }]).then(() => {}));
    expect(all.map((e) => e.type)).toEqual(['one', 'two']);
    const after = await readEvents(`${base}/api/subscribe?after=${first.position}&streamId=a`, 1, async () => {});
    expect(after.map((e) => e.type)).toEqual(['two']);
    const live = await readEvents(`${base}/api/subscribe?from=end`, 1, () => store.append('b', [{ type: 'three' }]).then(() => {}));
    expect(live.map((e) => e.type)).toEqual(['three']);
  });
});
