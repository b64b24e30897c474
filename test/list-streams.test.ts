import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listAll, listing } from '../lib/conformance/read-models.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

const SMALL = { indexMemtableEntries: 200, maxIndexSegments: 3 };

const IDS = ['a', 'b-1', 'é', '\u{1F600}x', '\uE000y', 'z', 'a-b', 'A'];

describe.each(ENGINES)('listStreams (%s engine)', (engine) => {
  it('lists every stream in byte order of its id, page by page, across memtables, files, merges and reopen', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, SMALL);
    for (let i = 0; i < 1500; i++) await s.append(`${IDS[i % IDS.length]}-${(i * 7) % 211}`, [{ type: 't', data: { i } }]);
    const want = await listing(s);
    for (const limit of [1, 7, 100, 1000]) expect(await listAll(s, { limit })).toEqual(want);
    expect(fs.readdirSync(path.join(dir, 'index')).some((f) => f.endsWith('.dir'))).toBe(true);
    const prefixed = await listAll(s, { prefix: 'b-1-', limit: 5 });
    expect(prefixed).toEqual(want.filter((x) => x.streamId.startsWith('b-1-')));
    expect((await s.listStreams({ prefix: 'nothing' })).streams).toEqual([]);
    await s.close();
    s = await openStore(dir, engine, SMALL);
    expect(await listAll(s, { limit: 33 })).toEqual(want);
  });

  it('a store written before directories existed lists from the log, and builds them in the background', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, SMALL);
    for (let i = 0; i < 900; i++) await s.append(`x-${i % 300}`, [{ type: 't', data: {} }]);
    const want = await listing(s);
    await s.close();
    for (const f of fs.readdirSync(path.join(dir, 'index'))) if (f.endsWith('.dir')) fs.rmSync(path.join(dir, 'index', f));
    const t = await openStore(dir, engine, SMALL);
    expect(await listAll(t, { limit: 64 })).toEqual(want);
    await (t as unknown as { index: { idle(): Promise<void> } }).index.idle();
    expect(fs.readdirSync(path.join(dir, 'index')).some((f) => f.endsWith('.dir'))).toBe(true);
    expect(await listAll(t, { limit: 64 })).toEqual(want);
  });
});

describe.each(ENGINES)('consumer checkpoints (%s engine)', (engine) => {
  it("are events of the store's own $$consumer- streams: listed only when the prefix asks for them", async () => {
    const s = await openStore(tempDir(), engine);
    for (let i = 0; i < 10; i++) await s.append(`order-${i % 4}`, [{ type: 't', data: { i } }]);
    for (const consumer of ['all', 'odd']) for await (const _ of s.subscribe({ consumer })) break;
    await s.listConsumers(); // waits for the checkpoints the ended subscriptions save
    expect((await s.listStreams({ limit: 1000 })).streams.some((x) => x.streamId.startsWith('$$'))).toBe(false);
    expect((await s.listStreams({ prefix: '$$consumer-' })).streams.map((x) => x.streamId)).toEqual(['$$consumer-all', '$$consumer-odd']);
  });
});
