import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventStore, StreamInfo } from '../lib/index.js';
import { collect, ENGINES, openStore, tempDir } from './helpers.js';

const SMALL = { indexMemtableEntries: 200, maxIndexSegments: 3 };

const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function listAll(s: EventStore, o: { prefix?: string; limit?: number } = {}): Promise<StreamInfo[]> {
  const out: StreamInfo[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await s.listStreams({ ...o, after });
    expect(page.streams.length).toBeLessThanOrEqual(o.limit ?? 100);
    out.push(...page.streams);
    if (!page.next) return out;
    expect(page.next).toBe(page.streams[page.streams.length - 1]?.streamId);
    after = page.next;
  }
  throw new Error('too many pages');
}

/** What a listing must say, from the global log. */
async function expected(s: EventStore): Promise<StreamInfo[]> {
  const m = new Map<string, StreamInfo>();
  for (const e of await collect(s.readAll())) {
    const info = m.get(e.streamId);
    if (!info) m.set(e.streamId, { streamId: e.streamId, version: e.version, firstPosition: e.position, lastPosition: e.position });
    else Object.assign(info, { version: e.version, lastPosition: e.position });
  }
  return [...m.values()].sort((a, b) => byUtf8(a.streamId, b.streamId));
}

const IDS = ['a', 'b-1', 'é', '\u{1F600}x', '\uE000y', 'z', 'a-b', 'A'];

describe.each(ENGINES)('listStreams (%s engine)', (engine) => {
  it('lists every stream in byte order of its id, page by page, across memtables, files, merges and reopen', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, SMALL);
    for (let i = 0; i < 1500; i++) await s.append(`${IDS[i % IDS.length]}-${(i * 7) % 211}`, [{ type: 't', data: { i } }]);
    const want = await expected(s);
    for (const limit of [1, 7, 100, 1000]) expect(await listAll(s, { limit })).toEqual(want);
    expect(fs.readdirSync(path.join(dir, 'index')).some((f) => f.endsWith('.dir'))).toBe(true);
    const prefixed = await listAll(s, { prefix: 'b-1-', limit: 5 });
    expect(prefixed).toEqual(want.filter((x) => x.streamId.startsWith('b-1-')));
    expect((await s.listStreams({ prefix: 'nothing' })).streams).toEqual([]);
    await s.close();
    s = await openStore(dir, engine, SMALL);
    expect(await listAll(s, { limit: 33 })).toEqual(want);
  });

  it('appends during paging: every stream that existed before is listed once, in order', async () => {
    const s = await openStore(tempDir(), engine, SMALL);
    for (let i = 0; i < 400; i++) await s.append(`s-${String(i).padStart(4, '0')}`, [{ type: 't', data: {} }]);
    const before = (await expected(s)).map((x) => x.streamId);
    const seen: string[] = [];
    let after: string | undefined;
    let n = 0;
    do {
      const page = await s.listStreams({ after, limit: 50 });
      seen.push(...page.streams.map((x) => x.streamId));
      after = page.next;
      await s.append(`s-${String(n++ * 37).padStart(4, '0')}x`, [{ type: 't', data: {} }]);
      await s.append(`s-0000`, [{ type: 't', data: {} }]);
    } while (after);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort(byUtf8));
    for (const id of before) expect(seen).toContain(id);
  });

  it('a store written before directories existed lists from the log, and builds them in the background', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, SMALL);
    for (let i = 0; i < 900; i++) await s.append(`x-${i % 300}`, [{ type: 't', data: {} }]);
    const want = await expected(s);
    await s.close();
    for (const f of fs.readdirSync(path.join(dir, 'index'))) if (f.endsWith('.dir')) fs.rmSync(path.join(dir, 'index', f));
    const t = await openStore(dir, engine, SMALL);
    expect(await listAll(t, { limit: 64 })).toEqual(want);
    await (t as unknown as { index: { idle(): Promise<void> } }).index.idle();
    expect(fs.readdirSync(path.join(dir, 'index')).some((f) => f.endsWith('.dir'))).toBe(true);
    expect(await listAll(t, { limit: 64 })).toEqual(want);
  });

  it('refuses bad arguments with INVALID_ARGUMENT', async () => {
    const s = await openStore(tempDir(), engine);
    for (const bad of [{ limit: 0 }, { limit: 1001 }, { limit: 1_000_000 }, { limit: 1.5 }, { prefix: 3 }, { after: {} }, { limt: 3 }]) {
      await expect(s.listStreams(bad as never), JSON.stringify(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });
});

describe.each(ENGINES)('listConsumers (%s engine)', (engine) => {
  it("lists each consumer's position, liveness and lag; hides its checkpoint stream from listStreams", async () => {
    const s = await openStore(tempDir(), engine);
    for (let i = 0; i < 40; i++) await s.append(`order-${i % 4}`, [{ type: i % 2 ? 'Odd' : 'Even', data: { i } }]);
    const take = async (consumer: string, n: number, filter?: { types: string }) => {
      let k = 0;
      for await (const _ of s.subscribe({ consumer, filter })) if (++k === n) break;
    };
    await take('all', 10);
    await take('odd', 5, { types: 'Odd' });
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
    expect((await listAllIds(s)).some((id) => id.startsWith('$$'))).toBe(false);
    expect((await s.listStreams({ prefix: '$$consumer-' })).streams.map((x) => x.streamId)).toEqual(['$$consumer-all', '$$consumer-odd']);
    live.close();
  });
});

async function listAllIds(s: EventStore): Promise<string[]> {
  return (await s.listStreams({ limit: 1000 })).streams.map((x) => x.streamId);
}
