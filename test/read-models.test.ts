import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkViewReads, expected, ids } from '../lib/conformance/read-models.js';
import type { EventStore, RecordedEvent } from '../lib/index.js';
import { collect, ENGINES, openStore, tempDir } from './helpers.js';

/** Rolls over 1 MiB chunks and builds and merges 60-entry memtables into few segments. */
const SMALL = { indexMemtableEntries: 60, maxIndexSegments: 3 };
const COUNT = 600;

/** COUNT events over streams of three categories (and ids without one), types A/B/C. */
async function fill(s: EventStore, from = 0, count = COUNT): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const stream = i % 10 === 9 ? `nocategory${i % 4}` : `${['order', 'cart', 'user'][i % 3]}-${i % 7}`;
    await s.append(stream, [
      { type: ['A', 'B', 'C'][i % 3 === 0 ? 0 : i % 2 === 0 ? 1 : 2] as string, data: { i, pad: 'x'.repeat(2000) } },
    ]);
  }
}

describe.each(ENGINES)('read models (%s engine)', (engine) => {
  it('reads a category and a type in global order, forward and backward, paged by position, across rollover, merges and reopen', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, SMALL);
    await fill(s);
    const check = () => checkViewReads(s);
    expect((await s.stats()).chunkCount).toBeGreaterThan(1);
    await check();
    await s.close();
    s = await openStore(dir, engine, SMALL);
    await check();
    await fill(s, COUNT, 100);
    await check();
  });

  it('events appended after a read starts are seen by the next page, never before they are durable', async () => {
    const s = await openStore(tempDir(), engine);
    await fill(s, 0, 30);
    const it = s.readCategory('order')[Symbol.asyncIterator]();
    const first = await it.next();
    await fill(s, 30, 30);
    const rest = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
    expect(ids([first.value as RecordedEvent, ...rest])).toEqual(await expected(s, (e) => e.streamId.startsWith('order-')));
  });

  it('an older store gains its category and type segments in the background, answering from the log meanwhile', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, SMALL);
    await fill(s);
    const orders = await expected(s, (e) => e.streamId.startsWith('order-'));
    await s.close();
    const indexDir = path.join(dir, 'index');
    for (const f of fs.readdirSync(indexDir)) if (/^(category|type)-/.test(f)) fs.rmSync(path.join(indexDir, f));
    const t = await openStore(dir, engine, SMALL);
    // Right away: the index replays no more than before (the memtable holds only the unindexed tail).
    expect((await t.stats()).index.memtableEntries).toBeLessThan(4 * SMALL.indexMemtableEntries);
    expect(ids(await collect(t.readCategory('order')))).toEqual(orders);
    await (t as unknown as { index: { idle(): Promise<void> } }).index.idle();
    expect(fs.readdirSync(indexDir).filter((f) => f.startsWith('category-')).length).toBeGreaterThan(0);
    expect((await t.stats()).index.brokenSegments).toBe(0);
    expect(ids(await collect(t.readCategory('order')))).toEqual(orders);
  });
});
