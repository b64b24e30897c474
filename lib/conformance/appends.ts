/** The contract of appends: versions, expected versions, command ids, atomicity, call order. */
import { expect, it } from 'vitest';
import { type AppendResult, DuplicateCommandError, InvalidArgumentError, StoreClosedError, WrongExpectedVersionError } from '../errors.js';
import { collect, type Harness } from './harness.js';

export function appendTests(h: Harness): void {
  it('appends and reads back JSON, bytes, metadata, ids and versions', async () => {
    const s = await h.create();
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
    expect(events[2]?.metadata).toBeUndefined();
    expect(events[2]?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(events[2]?.position).toBe(r.position);
    expect(events[0]!.position).toBeLessThan(events[1]!.position);
    expect(Math.abs(events[0]!.timestamp - Date.now())).toBeLessThan(60_000);
    expect(await s.streamVersion('order-1')).toBe(3);
    expect(await s.streamVersion('nope')).toBe(0);
    expect(await s.readStream('nope')).toEqual([]);
  });

  it('gives each appended event its id, version and position in the result, as reads give them', async () => {
    const s = await h.create();
    await s.append('before', [{ type: 'T' }]);
    const r = await s.append('order-2', [
      { type: 'A', id: 'mine-1' },
      { type: 'B' },
      { type: 'C', id: '0f8e3a52-6c1d-4b7e-9a2f-3d4c5b6a7988' },
    ]);
    const many = await s.appendMany([
      { streamId: 'order-2', events: [{ type: 'D' }] },
      { streamId: 'order-3', events: [{ type: 'E' }, { type: 'F' }] },
    ]);
    const read = [...(await s.readStream('order-2')), ...(await s.readStream('order-3'))];
    const appended = [r, ...(many as AppendResult[])].flatMap((x) => x.events ?? []);
    expect(appended).toEqual(read.map((e) => ({ id: e.id, version: e.version, position: e.position })));
    expect(appended[0]?.id).toBe('mine-1');
    expect(r.events?.at(-1)?.position).toBe(r.position);
  });

  it('gives every id back exactly as written, after a reopen too', async () => {
    let s = await h.create();
    const ids = [
      '0f8e3a52-6c1d-4b7e-9a2f-3d4c5b6a7988',
      '0F8E3A52-6C1D-4B7E-9A2F-3D4C5B6A7988',
      'order-placed-1',
      '0f8e3a52-6c1d-4b7e-9a2f-3d4c5b6a798',
      'ü-id',
    ];
    await s.append(
      'ids',
      ids.map((id) => ({ type: 'T', id })),
    );
    s = await h.reopen(s);
    expect((await s.readStream('ids')).map((e) => e.id)).toEqual(ids);
  });

  it('generates version 7 UUIDs from the event time: unique, the same after a reopen and through every read', async () => {
    let s = await h.create();
    await s.append('ids', [{ type: 'T', id: '0f8e3a52-6c1d-4b7e-9a2f-3d4c5b6a7988' }, { type: 'T' }, { type: 'T' }]);
    await s.append(
      'ids',
      Array.from({ length: 300 }, () => ({ type: 'T' })),
    );
    const before = (await s.readStream('ids')).map((e) => e.id);
    s = await h.reopen(s);
    const events = await s.readStream('ids');
    expect(events.map((e) => e.id)).toEqual(before);
    const generated = events.slice(1).map((e) => e.id);
    for (const [i, id] of generated.entries()) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(events[i + 1]!.timestamp);
    }
    expect(new Set(generated).size).toBe(302);
    expect((await s.readEvent('ids', 2))?.id).toBe(generated[0]);
    expect((await collect(s.readAll())).map((e) => e.id)).toEqual(before);
    const t = await h.create();
    await t.append('ids', [{ type: 'T', id: '0f8e3a52-6c1d-4b7e-9a2f-3d4c5b6a7988' }, { type: 'T' }, { type: 'T' }]);
    const theirs = (await t.readStream('ids')).slice(1).map((e) => e.id);
    expect(theirs[0]!.slice(14)).not.toBe(generated[0]!.slice(14));
  });

  it('enforces expected versions and writes nothing on a mismatch', async () => {
    const s = await h.create();
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

  it('lets exactly one of concurrent appends expecting the same version win', async () => {
    const s = await h.create();
    const attempts = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => s.append('race', [{ type: 'x', data: i }], { expectedVersion: 0 })),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    for (const a of attempts) if (a.status === 'rejected') expect(a.reason).toBeInstanceOf(WrongExpectedVersionError);
    expect(await s.streamVersion('race')).toBe(1);
  });

  it('stores a command once when one non-atomic call repeats its id', async () => {
    const s = await h.create();
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
    await s.appendMany([
      { streamId: 'd', events: [{ type: 't' }], commandId: 'Y' },
      { streamId: 'e', events: [{ type: 't' }], commandId: 'Y' },
    ]);
    expect((await s.readCommand('Y'))?.map((e) => e.streamId)).toEqual(['d', 'e']);
  });

  it('de-duplicates commands, after a reopen too, and reads a command back', async () => {
    let s = await h.create();
    // A DuplicateCommandError's original is the first result less its per-event list.
    const { events, ...first } = await s.append('c', [{ type: 'a' }, { type: 'b' }], { commandId: 'cmd-1' });
    expect(events).toHaveLength(2);
    const err = await s.append('c', [{ type: 'again' }], { commandId: 'cmd-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateCommandError);
    expect(err).toMatchObject({ code: 'DUPLICATE_COMMAND', commandId: 'cmd-1', original: first });
    expect((await s.readCommand('cmd-1'))?.map((e) => e.type)).toEqual(['a', 'b']);
    expect(await s.readCommand('unknown')).toBeUndefined();
    s = await h.reopen(s);
    await expect(s.append('d', [{ type: 'x' }], { commandId: 'cmd-1' })).rejects.toMatchObject({
      code: 'DUPLICATE_COMMAND',
      original: first,
    });
    expect(await s.streamVersion('c')).toBe(2);
    expect(await s.streamVersion('d')).toBe(0);
  });

  it('appendMany: atomic writes all or nothing, non-atomic item by item', async () => {
    const s = await h.create();
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

  it('survives a reopen and rejects use after close', async () => {
    const s = await h.create();
    await s.append('k', [{ type: 'a', data: { v: 1 } }], { commandId: 'c1' });
    const t = await h.reopen(s);
    await expect(s.append('k', [{ type: 'b' }])).rejects.toBeInstanceOf(StoreClosedError);
    await expect(s.readStream('k')).rejects.toBeInstanceOf(StoreClosedError);
    await expect(s.stats()).rejects.toBeInstanceOf(StoreClosedError);
    expect((await t.readStream('k'))[0]?.data).toEqual({ v: 1 });
    await expect(t.append('k', [{ type: 'b' }], { commandId: 'c1' })).rejects.toBeInstanceOf(DuplicateCommandError);
    await t.append('k', [{ type: 'b' }], { expectedVersion: 1 });
    expect(await t.streamVersion('k')).toBe(2);
  });

  it('applies appends made in one tick in call order, each checked against the ones before it', async () => {
    let s = await h.create();
    const distinct = await Promise.all(Array.from({ length: 64 }, (_, i) => s.append(`d-${i}`, [{ type: 't', data: i }])));
    for (let i = 1; i < distinct.length; i++) expect(distinct[i]!.position).toBeGreaterThan(distinct[i - 1]!.position);
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
    s = await h.reopen(s);
    expect((await s.readStream('same')).map((e) => e.version)).toEqual([1, 2, 3]);
    expect(await s.streamVersion('other')).toBe(0);
  });

  it('applies large appendMany calls of one tick in call order too', async () => {
    const s = await h.create();
    const items = (tag: string, expectedVersion: number) =>
      Array.from({ length: 12 }, (_, i) => ({ streamId: `big-${i}`, events: [{ type: tag }], expectedVersion, commandId: `${tag}-${i}` }));
    const calls = await Promise.allSettled([
      s.appendMany(items('first', 0)),
      s.appendMany(items('again', 0)),
      s.append('big-3', [{ type: 'x' }], { expectedVersion: 0 }),
      s.append('big-3', [{ type: 'y' }], { commandId: 'first-3' }),
      s.appendMany(items('second', 1)),
      ...Array.from({ length: 6 }, (_, k) => s.appendMany(items(`more-${k}`, 2 + k))),
    ]);
    expect(calls.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
      'fulfilled',
      ...Array(6).fill('fulfilled'),
    ]);
    expect((calls[1] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
    expect((calls[2] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
    expect((calls[3] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateCommandError);
    expect((await s.readStream('big-3')).map((e) => e.type)).toEqual([
      'first',
      'second',
      ...Array.from({ length: 6 }, (_, k) => `more-${k}`),
    ]);
    expect(await s.streamVersion('big-11')).toBe(8);
  });

  it('close() waits for the appends already made, and a reopen finds them all', async () => {
    const s = await h.create();
    const pending = Array.from({ length: 60 }, (_, i) => s.append(`q-${i % 6}`, [{ type: 'x', data: i }], { commandId: `q-${i}` }));
    const closing = s.close();
    const results = await Promise.all(pending);
    await closing;
    expect(results.every((r) => r.position > 0)).toBe(true);
    const t = await h.reopen(s);
    for (let k = 0; k < 6; k++)
      expect((await t.readStream(`q-${k}`)).map((e) => e.version)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    for (let i = 0; i < 60; i += 7) expect((await t.readCommand(`q-${i}`))?.[0]?.data).toBe(i);
    expect((await t.stats()).eventCount).toBe(60);
  });

  it('stats count events, streams and commands; flush resolves', async () => {
    const s = await h.create();
    for (let i = 0; i < 12; i++) await s.append(`s-${i % 4}`, [{ type: 'x' }, { type: 'y' }], { commandId: `c-${i}` });
    const last = await s.append('s-0', [{ type: 'z' }]);
    await s.flush();
    const st = await s.stats();
    expect(st).toMatchObject({ eventCount: 25, streamCount: 4, commandCount: 12 });
    expect(st.endPosition).toBeGreaterThanOrEqual(last.position);
    expect(st.bytesOnDisk).toBeGreaterThan(0);
    expect(typeof st.engine).toBe('string');
  });
}
