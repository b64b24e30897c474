import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AppendResult, DuplicateCommandError, InvalidArgumentError, WrongExpectedVersionError } from '../lib/index.js';
import { chunkPath, collect, ENGINES, MiB, openStore, tempDir } from './helpers.js';

describe.each(ENGINES)('event log (%s engine)', (engine) => {
  it('stores UUID ids as 16 bytes and gives every id back exactly as written', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine);
    const lower = '0f8e3a52-6c1d-4b7e-9a2f-3d4c5b6a7988';
    const upper = '0F8E3A52-6C1D-4B7E-9A2F-3D4C5B6A7988';
    const ids = [lower, upper, 'order-placed-1', '0f8e3a52-6c1d-4b7e-9a2f-3d4c5b6a798', 'ü-id'];
    await s.append(
      'ids',
      ids.map((id) => ({ type: 'T', id })),
    );
    await s.append(
      'ids',
      Array.from({ length: 300 }, () => ({ type: 'T' })),
    );
    await s.close();
    s = await openStore(dir, engine);
    const events = await s.readStream('ids');
    expect(events.slice(0, 5).map((e) => e.id)).toEqual(ids);
    // A packed UUID costs 16 bytes and no length byte: the frame of the lowercase id is 21 bytes
    // shorter than the uppercase one's (36 bytes of text and their length).
    expect(events[1]!.position - events[0]!.position - (events[2]!.position - events[1]!.position)).toBe(-21);
    await s.close();
  });

  it('derives the ids it generates: no bytes on disk, the same after a reopen, different in another store', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine);
    await s.append('ids', [{ type: 'T', id: '0f8e3a52-6c1d-4b7e-9a2f-3d4c5b6a7988' }, { type: 'T' }, { type: 'T' }]);
    await s.append(
      'ids',
      Array.from({ length: 300 }, () => ({ type: 'T' })),
    );
    const before = (await s.readStream('ids')).map((e) => e.id);
    await s.close();
    s = await openStore(dir, engine);
    const events = await s.readStream('ids');
    const generated = events.slice(1).map((e) => e.id);
    expect(events.map((e) => e.id)).toEqual(before);
    for (const [i, id] of generated.entries()) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      // Version 7: the first 48 bits are the event's time in milliseconds.
      expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(events[i + 1]!.timestamp);
    }
    expect(new Set(generated).size).toBe(302);
    expect((await s.readEvent('ids', 2))?.id).toBe(generated[0]);
    const fromLog: string[] = [];
    for await (const e of s.readAll()) fromLog.push(e.id);
    expect(fromLog).toEqual(before);
    // The packed id costs 16 bytes that a derived one does not.
    expect(events[1]!.position - events[0]!.position - (events[2]!.position - events[1]!.position)).toBe(16);
    await s.append('other', [{ type: 'T' }]);
    await s.close();
    // Another store: the same positions, its own identity.
    const t = await openStore(tempDir(), engine);
    await t.append('ids', [{ type: 'T', id: '0f8e3a52-6c1d-4b7e-9a2f-3d4c5b6a7988' }, { type: 'T' }, { type: 'T' }]);
    const theirs = (await t.readStream('ids')).slice(1).map((e) => e.id);
    expect(theirs[0]!.slice(14)).not.toBe(generated[0]!.slice(14));
    await t.close();
  });

  it('reads ranges, backwards, single events and the global log', async () => {
    const s = await openStore(tempDir(), engine);
    for (let i = 1; i <= 10; i++) await s.append(i % 2 ? 'odd' : 'even', [{ type: 't', data: i }]);
    expect((await s.readStream('odd', { fromVersion: 2, limit: 2 })).map((e) => e.data)).toEqual([3, 5]);
    expect((await s.readStream('odd', { direction: 'backward' })).map((e) => e.data)).toEqual([9, 7, 5, 3, 1]);
    expect((await s.readStream('odd', { direction: 'backward', fromVersion: 2 })).map((e) => e.data)).toEqual([3, 1]);
    expect((await s.readEvent('even', 3))?.data).toBe(6);
    expect(await s.readEvent('even', 6)).toBeUndefined();
    const all = await collect(s.readAll());
    expect(all.map((e) => e.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const after = await collect(s.readAll({ after: all[6]!.position, limit: 2 }));
    expect(after.map((e) => e.data)).toEqual([8, 9]);
    await expect(collect(s.readAll({ after: all[6]!.position + 1 }))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(collect(s.readAll({ after: -1 }))).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('writes zeroes ahead of its appends (allocated blocks), never past the chunk, and recovers across them', async () => {
    const dir = tempDir();
    const options = { chunkSize: 4 * MiB };
    let s = await openStore(dir, engine, options);
    const first = await s.append('a', [{ type: 't', data: { n: 0 } }]);
    const file = chunkPath(dir);
    expect(fs.statSync(file).size).toBe(4 * MiB);
    // Blocks are allocated at least a megabyte past the data, and what lies there is zeroes.
    expect(fs.statSync(file).blocks * 512).toBeGreaterThanOrEqual(MiB);
    const after = Buffer.alloc(64 * 1024, 1);
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, after, 0, after.length, first.position + 200);
    fs.closeSync(fd);
    expect(after.every((b) => b === 0)).toBe(true);
    // Across several refills and two rollovers: every chunk stays exactly its size, nothing is lost.
    const big = 'x'.repeat(50_000);
    for (let i = 1; i <= 200; i++) await s.append('a', [{ type: 't', data: { n: i, big } }]);
    await s.close();
    const files = fs.readdirSync(path.join(dir, 'chunks')).filter((n) => n.endsWith('.chunk'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const n of files) expect(fs.statSync(path.join(dir, 'chunks', n)).size).toBe(4 * MiB);
    s = await openStore(dir, engine, options);
    const events = await s.readStream('a');
    expect(events.map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: 201 }, (_, i) => i));
    const next = await s.append('a', [{ type: 't' }], { expectedVersion: 201 });
    expect(next.position).toBeGreaterThan(events[200]!.position);
  });

  it('writes appends made while a flush runs together, in call order, checked against each other', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
    const before = await s.stats();
    const distinct = await Promise.all(Array.from({ length: 64 }, (_, i) => s.append(`d-${i}`, [{ type: 't', data: i }])));
    const after = await s.stats();
    expect(after.writes - before.writes).toBeLessThanOrEqual(2);
    expect(after.flushes - before.flushes).toBeLessThanOrEqual(2);
    for (let i = 1; i < distinct.length; i++) expect(distinct[i]!.position).toBeGreaterThan(distinct[i - 1]!.position);
    // Same stream, same command id, in one tick: each append sees the ones called before it.
    const same = await Promise.allSettled([
      s.append('same', [{ type: 'a' }], { expectedVersion: 0, commandId: 'c-1' }),
      s.append('same', [{ type: 'b' }], { expectedVersion: 0 }),
      s.append('same', [{ type: 'c' }]),
      s.append('other', [{ type: 'd' }], { commandId: 'c-1' }),
      s.append('same', [{ type: 'e' }], { expectedVersion: 2 }),
    ]);
    expect(same.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect((same[1] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
    const dup = (same[3] as PromiseRejectedResult).reason as DuplicateCommandError;
    expect(dup).toBeInstanceOf(DuplicateCommandError);
    // The original, rebuilt from the index, is the first result less its per-event list.
    const { events: _, ...first } = (same[0] as PromiseFulfilledResult<AppendResult>).value;
    expect(dup.original).toEqual(first);
    expect((await s.readStream('same', { direction: 'backward' })).map((e) => e.type)).toEqual(['e', 'c', 'a']);
    await s.close();
    const t = await openStore(dir, engine);
    expect((await t.readStream('same')).map((e) => e.version)).toEqual([1, 2, 3]);
    expect(await t.streamVersion('other')).toBe(0);
  });

  it('indexes a large append in the call that writes it, while its flush runs: appends in the same tick see it', async () => {
    // Appends of more than 8 items are written at once and start a flush when none runs; their
    // index update happens after that start, but still before any later call plans.
    const dir = tempDir();
    const s = await openStore(dir, engine);
    const items = (tag: string, expectedVersion: number) =>
      Array.from({ length: 12 }, (_, i) => ({
        streamId: `big-${i}`,
        events: [{ type: tag }],
        expectedVersion,
        commandId: `${tag}-${i}`,
      }));
    const before = await s.stats();
    const calls = await Promise.allSettled([
      s.appendMany(items('first', 0)),
      s.appendMany(items('again', 0)), // the first took version 1 of every stream
      s.append('big-3', [{ type: 'x' }], { expectedVersion: 0 }),
      s.append('big-3', [{ type: 'y' }], { commandId: 'first-3' }), // the first's command id
      s.appendMany(items('second', 1)),
      ...Array.from({ length: 6 }, (_, k) => s.appendMany(items(`more-${k}`, 2 + k))),
    ]);
    expect(calls.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
      'fulfilled',
      ...Array.from({ length: 6 }, () => 'fulfilled'),
    ]);
    expect((calls[1] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
    expect((calls[2] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
    expect((calls[3] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateCommandError);
    // Concurrency still turns into shared flushes: the first call's own, then one for the rest.
    expect((await s.stats()).flushes - before.flushes).toBeLessThanOrEqual(3);
    expect((await s.readStream('big-3')).map((e) => e.type)).toEqual([
      'first',
      'second',
      ...Array.from({ length: 6 }, (_, k) => `more-${k}`),
    ]);
    await s.close();
    const t = await openStore(dir, engine);
    expect(await t.streamVersion('big-11')).toBe(8);
    await t.close();
  });

  it.each(['sync', 'interval', 'none'] as const)('durability %s: acknowledged events are readable and kept', async (durability) => {
    const dir = tempDir();
    const s = await openStore(dir, engine, { durability, flushIntervalMs: 5 });
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.append(`s-${i % 5}`, [{ type: 't', data: i }])));
    expect((await s.stats()).eventCount).toBe(50);
    if (durability === 'sync') expect((await s.stats()).flushes).toBeLessThan(50);
    await s.flush();
    await s.close();
    const t = await openStore(dir, engine);
    expect((await collect(t.readAll())).length).toBe(50);
  });
});
