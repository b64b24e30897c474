/** The contract of the read models: categories and types in global order, stream listings in
 * byte order of the id, and filters of the global log (readAll, subscribe). */
import { expect, it } from 'vitest';
import type { EventFilter } from '../event-filter.js';
import type { AnnalsStore } from '../store-api.js';
import type { RecordedEvent, StreamInfo } from '../types.js';
import { collect, type Harness } from './harness.js';

/** `count` events over streams of three categories (and ids without one), types A/B/C. */
async function fill(s: AnnalsStore, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const stream = i % 10 === 9 ? `nocategory${i % 4}` : `${['order', 'cart', 'user'][i % 3]}-${i % 7}`;
    await s.append(stream, [{ type: ['A', 'B', 'C'][i % 3 === 0 ? 0 : i % 2 === 0 ? 1 : 2] as string, data: { i } }]);
  }
}

export const ids = (events: RecordedEvent[]) => events.map((e) => (e.data as { i: number }).i);

/** The events of the global log that `keep` takes, as their data.i. */
export async function expected(s: AnnalsStore, keep: (e: RecordedEvent) => boolean): Promise<number[]> {
  return ids((await collect(s.readAll())).filter(keep));
}

const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Every page of a listing, checked page by page. */
export async function listAll(s: AnnalsStore, o: { prefix?: string; limit?: number } = {}): Promise<StreamInfo[]> {
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
export async function listing(s: AnnalsStore): Promise<StreamInfo[]> {
  const m = new Map<string, StreamInfo>();
  for (const e of await collect(s.readAll())) {
    const info = m.get(e.streamId);
    if (!info) m.set(e.streamId, { streamId: e.streamId, version: e.version, firstPosition: e.position, lastPosition: e.position });
    else Object.assign(info, { version: e.version, lastPosition: e.position });
  }
  return [...m.values()].sort((a, b) => byUtf8(a.streamId, b.streamId));
}

const IDS = ['a', 'b-1', 'é', '\u{1F600}x', '\uE000y', 'z', 'a-b', 'A', 'a%', 'a_'];

/** Category and type reads over what `fill` wrote: order, both directions, paging by position. */
export async function checkViewReads(s: AnnalsStore): Promise<void> {
  const orders = await expected(s, (e) => e.streamId.startsWith('order-'));
  expect(ids(await collect(s.readCategory('order')))).toEqual(orders);
  expect(ids(await collect(s.readCategory('order', { direction: 'backward' })))).toEqual([...orders].reverse());
  const bs = await expected(s, (e) => e.type === 'B');
  expect(ids(await collect(s.readByType('B')))).toEqual(bs);
  const pages: number[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await collect(s.readByType('B', { after, limit: 7 }));
    if (page.length === 0) break;
    pages.push(...ids(page));
    after = page[page.length - 1]?.position;
  }
  expect(pages).toEqual(bs);
  const back = await collect(s.readCategory('cart', { direction: 'backward', limit: 5 }));
  const older = await collect(s.readCategory('cart', { direction: 'backward', after: back[4]?.position, limit: 5 }));
  const carts = await expected(s, (e) => e.streamId.startsWith('cart-'));
  expect([...ids(back), ...ids(older)]).toEqual(carts.reverse().slice(0, 10));
  expect(await collect(s.readCategory('nocategory0'))).toEqual([]);
  expect(await collect(s.readByType('Z'))).toEqual([]);
}

export function readModelTests(h: Harness): void {
  it('reads a category and a type in global order, forward and backward, paged by position, and after a reopen', async () => {
    let s = await h.create();
    await fill(s, 0, 240);
    const check = () => checkViewReads(s);
    await check();
    s = await h.reopen(s);
    await check();
    await fill(s, 240, 30);
    await check();
  });

  it('events appended after a view read starts are seen by its next page', async () => {
    const s = await h.create();
    await fill(s, 0, 30);
    const it = s.readCategory('order', { limit: 1000 })[Symbol.asyncIterator]();
    const first = await it.next();
    await fill(s, 30, 30);
    const rest = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
    const got = ids([first.value as RecordedEvent, ...rest]);
    const all = await expected(s, (e) => e.streamId.startsWith('order-'));
    // The first page may or may not hold the later events; none is lost or repeated.
    expect(all.slice(0, got.length)).toEqual(got);
    expect(got.length).toBeGreaterThanOrEqual(all.filter((i) => i < 30).length);
  });

  it('filters readAll: prefix, category, types, lists OR, fields AND', async () => {
    const s = await h.create();
    await fill(s, 0, 120);
    const cases: [EventFilter, (e: RecordedEvent) => boolean][] = [
      [{ streamPrefix: 'order-1' }, (e) => e.streamId.startsWith('order-1')],
      [{ category: 'cart' }, (e) => e.streamId.startsWith('cart-')],
      [{ category: ['cart', 'user'] }, (e) => /^(cart|user)-/.test(e.streamId)],
      [{ types: ['A', 'C'] }, (e) => e.type !== 'B'],
      [{ category: 'order', types: 'A' }, (e) => e.streamId.startsWith('order-') && e.type === 'A'],
      [{ streamPrefix: 'no' }, (e) => e.streamId.startsWith('no')],
      [{ streamPrefix: ['user-', 'nocategory1'] }, (e) => e.streamId.startsWith('user-') || e.streamId.startsWith('nocategory1')],
    ];
    for (const [filter, keep] of cases) {
      expect(ids(await collect(s.readAll({ filter }))), JSON.stringify(filter)).toEqual(await expected(s, keep));
    }
    const limited = await collect(s.readAll({ filter: { types: 'B' }, limit: 3 }));
    expect(ids(limited)).toEqual((await expected(s, (e) => e.type === 'B')).slice(0, 3));
    const after = limited[2]?.position;
    expect(ids(await collect(s.readAll({ filter: { types: 'B' }, after })))).toEqual((await expected(s, (e) => e.type === 'B')).slice(3));
  });

  it('a filtered live subscription sees every matching event once, across catch-up and live', async () => {
    const s = await h.create();
    await fill(s, 0, 90);
    const sub = s.subscribe({ filter: { category: 'user' } });
    const seen: number[] = [];
    const done = (async () => {
      for await (const e of sub) {
        seen.push((e.data as { i: number }).i);
        if (seen.length === 50) break;
      }
    })();
    await fill(s, 90, 90);
    await done;
    expect(seen).toEqual((await expected(s, (e) => e.streamId.startsWith('user-'))).slice(0, 50));
  });

  it('lists every stream in byte order of its id, page by page, with its versions and positions, after a reopen too', async () => {
    let s = await h.create();
    for (let i = 0; i < 300; i++) await s.append(`${IDS[i % IDS.length]}-${(i * 7) % 41}`, [{ type: 't', data: { i } }]);
    const want = await listing(s);
    for (const limit of [1, 7, 100, 1000]) expect(await listAll(s, { limit })).toEqual(want);
    expect(await listAll(s, { prefix: 'b-1-', limit: 5 })).toEqual(want.filter((x) => x.streamId.startsWith('b-1-')));
    expect(await listAll(s, { prefix: 'a%' })).toEqual(want.filter((x) => x.streamId.startsWith('a%')));
    expect(await listAll(s, { prefix: '\u{1F600}' })).toEqual(want.filter((x) => x.streamId.startsWith('\u{1F600}')));
    expect((await s.listStreams({ prefix: 'nothing' })).streams).toEqual([]);
    s = await h.reopen(s);
    expect(await listAll(s, { limit: 33 })).toEqual(want);
  });

  it('appends during paging: every stream that existed before is listed once, in order', async () => {
    const s = await h.create();
    for (let i = 0; i < 200; i++) await s.append(`s-${String(i).padStart(4, '0')}`, [{ type: 't', data: {} }]);
    const before = (await listing(s)).map((x) => x.streamId);
    const seen: string[] = [];
    let after: string | undefined;
    let n = 0;
    do {
      const page = await s.listStreams({ after, limit: 50 });
      seen.push(...page.streams.map((x) => x.streamId));
      after = page.next;
      await s.append(`s-${String(n++ * 37).padStart(4, '0')}x`, [{ type: 't', data: {} }]);
      await s.append('s-0000', [{ type: 't', data: {} }]);
    } while (after);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort(byUtf8));
    for (const id of before) expect(seen).toContain(id);
  });

  it('refuses bad arguments of views, listings and filters with INVALID_ARGUMENT', async () => {
    const s = await h.create();
    await fill(s, 0, 3);
    const bad: [string, () => AsyncIterable<unknown>][] = [
      ['empty category', () => s.readCategory('')],
      ['category with a dash', () => s.readCategory('a-b')],
      ['category not a string', () => s.readCategory(3 as unknown as string)],
      ['empty type', () => s.readByType('')],
      ['limit 0', () => s.readByType('A', { limit: 0 })],
      ['negative after', () => s.readByType('A', { after: -1 })],
      ['bad direction', () => s.readByType('A', { direction: 'up' as 'forward' })],
      ['unknown option', () => s.readByType('A', { afterr: 3 } as unknown as { after: number })],
      ['filter unknown field', () => s.readAll({ filter: { stream: 'x' } as unknown as EventFilter })],
      ['filter empty list', () => s.readAll({ filter: { types: [] } })],
      ['filter empty string', () => s.readAll({ filter: { category: '' } })],
      ['filter category with a dash', () => s.readAll({ filter: { category: 'a-b' } })],
      ['filter not an object', () => s.readAll({ filter: 'x' as unknown as EventFilter })],
      ['readAll unknown option', () => s.readAll({ limt: 3 } as never)],
    ];
    for (const [what, read] of bad) await expect(collect(read()), what).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => s.subscribe({ filter: { nope: 1 } as unknown as EventFilter })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => s.subscribe({ streamId: 'x', filter: { types: 'A' } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    for (const o of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { prefix: 3 }, { after: {} }, { limt: 3 }]) {
      await expect(s.listStreams(o as never), JSON.stringify(o)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });
}
