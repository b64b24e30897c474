import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DuplicateCommandError,
  InvalidArgumentError,
  LimitExceededError,
  StoreClosedError,
  WrongExpectedVersionError,
} from '../lib/index.js';
import { chunkPath, collect, ENGINES, MiB, openStore, tempDir } from './helpers.js';

describe.each(ENGINES)('event log (%s engine)', (engine) => {
  it('appends and reads back JSON, bytes, metadata, ids and versions', async () => {
    const s = await openStore(tempDir(), engine);
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const r = await s.append('order-1', [
      { type: 'Placed', data: { n: 1, s: 'é' }, metadata: { by: 'ada' }, id: 'e-1' },
      { type: 'Blob', data: bytes, metadata: new Uint8Array([9]) },
      { type: 'Empty' },
    ]);
    expect(r).toMatchObject({ streamId: 'order-1', firstVersion: 1, lastVersion: 3 });
    const events = await s.readStream('order-1');
    expect(events.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(events[0]).toMatchObject({ type: 'Placed', data: { n: 1, s: 'é' }, metadata: { by: 'ada' }, id: 'e-1' });
    expect(events[1]?.data).toEqual(bytes);
    expect(events[1]?.metadata).toEqual(new Uint8Array([9]));
    expect(events[2]?.data).toBeUndefined();
    expect(events[2]?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(events[2]?.position).toBe(r.position);
    expect(events[0]!.position).toBeLessThan(events[1]!.position);
    expect(Math.abs(events[0]!.timestamp - Date.now())).toBeLessThan(60_000);
    expect(await s.streamVersion('order-1')).toBe(3);
    expect(await s.streamVersion('nope')).toBe(0);
    expect(await s.readStream('nope')).toEqual([]);
  });

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

  it('enforces expected versions and writes nothing on a mismatch', async () => {
    const s = await openStore(tempDir(), engine);
    await s.append('a', [{ type: 'x' }], { expectedVersion: 'no_stream' });
    await s.append('a', [{ type: 'x' }], { expectedVersion: 1 });
    await s.append('a', [{ type: 'x' }], { expectedVersion: 'stream_exists' });
    const err = await s.append('a', [{ type: 'x' }], { expectedVersion: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect(err).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', streamId: 'a', expectedVersion: 1, actualVersion: 3 });
    await expect(s.append('a', [{ type: 'x' }], { expectedVersion: 'no_stream' })).rejects.toThrow(WrongExpectedVersionError);
    await expect(s.append('b', [{ type: 'x' }], { expectedVersion: 'stream_exists' })).rejects.toThrow(WrongExpectedVersionError);
    await expect(s.append('b', [{ type: 'x' }], { expectedVersion: 2 })).rejects.toThrow(WrongExpectedVersionError);
    expect(await s.streamVersion('a')).toBe(3);
    expect(await s.streamVersion('b')).toBe(0);
    expect((await s.stats()).eventCount).toBe(3);
  });

  it('lets exactly one of two concurrent appends expecting the same version win', async () => {
    const s = await openStore(tempDir(), engine);
    const attempts = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => s.append('race', [{ type: 'x', data: i }], { expectedVersion: 0 })),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    expect(await s.streamVersion('race')).toBe(1);
  });

  it('stores a command once when one non-atomic call repeats its id', async () => {
    const s = await openStore(tempDir(), engine);
    const r = await s.appendMany(
      [
        { streamId: 'a', events: [{ type: 't' }], commandId: 'X' },
        { streamId: 'b', events: [{ type: 't' }], commandId: 'X' },
        { streamId: 'c', events: [{ type: 't' }], commandId: 'Z' },
      ],
      { atomic: false },
    );
    expect(r[0]).toMatchObject({ streamId: 'a', commandId: 'X' });
    expect(r[1]).toBeInstanceOf(DuplicateCommandError);
    expect((r[1] as DuplicateCommandError).original).toEqual(r[0]);
    expect(r[2]).toMatchObject({ streamId: 'c', commandId: 'Z' });
    expect(await s.streamVersion('b')).toBe(0);
    expect((await s.readCommand('X'))?.map((e) => e.streamId)).toEqual(['a']);
    // In one atomic transaction, items sharing a command id are that command's events.
    await s.appendMany([
      { streamId: 'd', events: [{ type: 't' }], commandId: 'Y' },
      { streamId: 'e', events: [{ type: 't' }], commandId: 'Y' },
    ]);
    expect((await s.readCommand('Y'))?.map((e) => e.streamId)).toEqual(['d', 'e']);
  });

  it('de-duplicates commands and reads a command back', async () => {
    const s = await openStore(tempDir(), engine);
    const first = await s.append('c', [{ type: 'a' }, { type: 'b' }], { commandId: 'cmd-1' });
    const err = await s.append('c', [{ type: 'again' }], { commandId: 'cmd-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateCommandError);
    expect(err).toMatchObject({ code: 'DUPLICATE_COMMAND', commandId: 'cmd-1', original: first });
    expect((await s.readCommand('cmd-1'))?.map((e) => e.type)).toEqual(['a', 'b']);
    expect(await s.readCommand('unknown')).toBeUndefined();
    expect(await s.streamVersion('c')).toBe(2);
  });

  it('appendMany: atomic writes all or nothing, non-atomic item by item', async () => {
    const s = await openStore(tempDir(), engine);
    const rs = await s.appendMany(
      [
        { streamId: 'x', events: [{ type: 'a' }] },
        { streamId: 'y', events: [{ type: 'b' }, { type: 'c' }] },
        { streamId: 'x', events: [{ type: 'd' }], expectedVersion: 1 },
      ],
      { commandId: 'multi' },
    );
    expect(rs.map((r) => (r as { lastVersion: number }).lastVersion)).toEqual([1, 2, 2]);
    expect((await s.readCommand('multi'))?.length).toBe(4);
    expect((await s.readStream('x')).map((e) => e.type)).toEqual(['a', 'd']);
    await expect(
      s.appendMany([
        { streamId: 'z', events: [{ type: 'a' }] },
        { streamId: 'x', events: [{ type: 'a' }], expectedVersion: 0 },
      ]),
    ).rejects.toThrow(WrongExpectedVersionError);
    expect(await s.streamVersion('z')).toBe(0);
    const mixed = await s.appendMany(
      [
        { streamId: 'z', events: [{ type: 'a' }] },
        { streamId: 'x', events: [{ type: 'a' }], expectedVersion: 0 },
        { streamId: '', events: [{ type: 'a' }] },
        { streamId: 'z', events: [{ type: 'b' }], expectedVersion: 1 },
      ],
      { atomic: false },
    );
    expect(mixed[0]).toMatchObject({ streamId: 'z', lastVersion: 1 });
    expect(mixed[1]).toBeInstanceOf(WrongExpectedVersionError);
    expect(mixed[2]).toBeInstanceOf(InvalidArgumentError);
    expect(mixed[3]).toMatchObject({ streamId: 'z', lastVersion: 2 });
    expect((await s.readStream('z')).map((e) => e.type)).toEqual(['a', 'b']);
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

  it('gives back random JSON, bytes and absent payloads exactly through every read of many events', async () => {
    // Reads of many events parse their JSON payloads together (json-batch.ts): every value kind,
    // escapes, multi-byte text, payloads large enough to be parsed alone, and bytes and absent
    // payloads between them must come back as appended, from each of those reads.
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const text = () =>
      ['plain', 'é漢🎉', 'quote " back \\ nl \n tab \t', '\u0000ctl', 'x'.repeat(rand(3) === 0 ? 20_000 : 5)][rand(5)] as string;
    const value = (depth: number): unknown => {
      switch (rand(depth > 2 ? 5 : 7)) {
        case 0:
          return rand(1000) - 500 + rand(4) / 8;
        case 1:
          return text();
        case 2:
          return rand(2) === 0;
        case 3:
          return null;
        case 4:
          return 1e21 * (rand(3) + 1);
        case 5:
          return Array.from({ length: rand(4) }, () => value(depth + 1));
        default:
          return Object.fromEntries(Array.from({ length: rand(4) }, (_, i) => [`k${i}${text().slice(0, 3)}`, value(depth + 1)]));
      }
    };
    const payload = (): unknown => (rand(6) === 0 ? new Uint8Array([rand(256), 0, 255]) : rand(6) === 0 ? undefined : value(0));
    const s = await openStore(tempDir(), engine);
    const written: { stream: string; data: unknown; metadata: unknown }[] = [];
    const commandStart: number[] = [];
    for (let a = 0; a < 40; a++) {
      commandStart.push(written.length);
      const stream = `r-${a % 3}`;
      const events = Array.from({ length: 1 + rand(30) }, () => ({ type: 'T', data: payload(), metadata: payload() }));
      await s.append(stream, events, { commandId: `rc-${a}` });
      for (const e of events) written.push({ stream, data: e.data, metadata: e.metadata });
    }
    const shape = (e: { data: unknown; metadata: unknown }) => ({ data: e.data, metadata: e.metadata });
    // Stored JSON reads back as JSON.parse(JSON.stringify(x)); bytes as bytes; absent as undefined.
    const expected = written.map((w) => ({
      data: w.data instanceof Uint8Array || w.data === undefined ? w.data : JSON.parse(JSON.stringify(w.data)),
      metadata: w.metadata instanceof Uint8Array || w.metadata === undefined ? w.metadata : JSON.parse(JSON.stringify(w.metadata)),
    }));
    expect((await collect(s.readAll())).map(shape)).toEqual(expected);
    for (let k = 0; k < 3; k++) {
      expect((await s.readStream(`r-${k}`)).map(shape)).toEqual(expected.filter((_, i) => written[i]?.stream === `r-${k}`));
    }
    expect((await s.readCommand('rc-4'))?.map(shape)).toEqual(expected.slice(commandStart[4], commandStart[5]));
    const sub = s.subscribe({});
    const seen: unknown[] = [];
    for await (const e of sub) {
      seen.push(shape(e));
      if (seen.length === expected.length) break;
    }
    expect(seen).toEqual(expected);
    await s.close();
  });

  it('rejects bad input with typed errors and leaves the store unchanged', async () => {
    const s = await openStore(tempDir(), engine, { limits: { maxStreamIdBytes: 8, maxEventBytes: 1000, maxEventsPerAppend: 3 } });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const bad: [unknown, unknown, unknown, string][] = [
      ['', [{ type: 'x' }], {}, 'INVALID_ARGUMENT'],
      [42, [{ type: 'x' }], {}, 'INVALID_ARGUMENT'],
      ['a\ud800', [{ type: 'x' }], {}, 'INVALID_ARGUMENT'],
      ['toolongstream', [{ type: 'x' }], {}, 'LIMIT_EXCEEDED'],
      ['日本語', [{ type: 'x' }], {}, 'LIMIT_EXCEEDED'], // 3 characters, 9 bytes
      ['ééééé', [{ type: 'x' }], {}, 'LIMIT_EXCEEDED'], // 10 bytes
      ['s', [], {}, 'INVALID_ARGUMENT'],
      ['s', 'nope', {}, 'INVALID_ARGUMENT'],
      ['s', [{ type: 1 }], {}, 'INVALID_ARGUMENT'],
      ['s', [{ type: 'x', data: circular }], {}, 'INVALID_ARGUMENT'],
      ['s', [{ type: 'x', data: 10n }], {}, 'INVALID_ARGUMENT'],
      ['s', [{ type: 'x', data: () => 1 }], {}, 'INVALID_ARGUMENT'],
      ['s', [{ type: 'x', data: 'y'.repeat(2000) }], {}, 'LIMIT_EXCEEDED'],
      ['s', [{ type: 'x' }, { type: 'x' }, { type: 'x' }, { type: 'x' }], {}, 'LIMIT_EXCEEDED'],
      ['s', [{ type: 'x' }], { expectedVersion: -1 }, 'INVALID_ARGUMENT'],
      ['s', [{ type: 'x' }], { expectedVersion: 1.5 }, 'INVALID_ARGUMENT'],
      ['s', [{ type: 'x' }], { expectedVersion: Number.NaN }, 'INVALID_ARGUMENT'],
      ['s', [{ type: 'x' }], { commandId: '' }, 'INVALID_ARGUMENT'],
    ];
    for (const [stream, events, opts, code] of bad) {
      // @ts-expect-error deliberately wrong types
      await expect(s.append(stream, events, opts), JSON.stringify([stream, code])).rejects.toMatchObject({ code });
    }
    await expect(s.readStream('s', { fromVersion: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await s.stats()).toMatchObject({ eventCount: 0, streamCount: 0 });
    await expect(s.append('s', [{ type: 'x', data: 'y'.repeat(2000) }])).rejects.toBeInstanceOf(LimitExceededError);
    // Limits count UTF-8 bytes: up to them, multi-byte ids are taken.
    await s.append('éééé', [{ type: 'x' }]); // 8 bytes
    await s.append('😀😀', [{ type: 'x' }]);
    const d = await openStore(tempDir(), engine);
    await expect(d.append('s', [{ type: 'x' }], { commandId: '日'.repeat(342) })).rejects.toBeInstanceOf(LimitExceededError); // 1,026 bytes
    await expect(d.readCommand('日'.repeat(342))).rejects.toBeInstanceOf(LimitExceededError);
    await d.append('s', [{ type: 'x' }], { commandId: '日'.repeat(341) }); // 1,023 bytes
    await d.append('s', [{ type: 'x' }], { commandId: 'a'.repeat(1024) });
    expect((await d.readCommand('日'.repeat(341)))?.[0]?.streamId).toBe('s');
    expect(await d.streamVersion('s')).toBe(2);
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

  it('survives reopen and rejects use after close', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
    await s.append('k', [{ type: 'a', data: { v: 1 } }], { commandId: 'c1' });
    await s.close();
    await expect(s.append('k', [{ type: 'b' }])).rejects.toBeInstanceOf(StoreClosedError);
    await expect(s.readStream('k')).rejects.toBeInstanceOf(StoreClosedError);
    const t = await openStore(dir, engine);
    expect((await t.readStream('k'))[0]?.data).toEqual({ v: 1 });
    await expect(t.append('k', [{ type: 'b' }], { commandId: 'c1' })).rejects.toBeInstanceOf(DuplicateCommandError);
    await t.append('k', [{ type: 'b' }], { expectedVersion: 1 });
    expect(await t.streamVersion('k')).toBe(2);
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
    expect(dup.original).toEqual((same[0] as PromiseFulfilledResult<unknown>).value);
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
