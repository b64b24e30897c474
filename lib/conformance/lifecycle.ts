/** The contract of stream deletes and retention rules (docs/api.md, "Deleting streams and
 * retention"): what every read returns after them, and what appends may do next. */
import { expect, it } from 'vitest';
import { StreamDeletedError } from '../errors.js';
import type { AnnalsStore } from '../store-api.js';
import { collect, type Harness } from './harness.js';

async function fill(s: AnnalsStore, streamId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await s.append(streamId, [{ type: i % 2 ? 'Odd' : 'Even', data: { i } }]);
}

const versions = async (s: AnnalsStore, id: string) => (await s.readStream(id)).map((e) => e.version);
const allOf = async (s: AnnalsStore) => (await collect(s.readAll())).map((e) => `${e.streamId}@${e.version}`);
const endOf = async (s: AnnalsStore) => (await s.stats()).endPosition;

export function lifecycleTests(h: Harness): void {
  it('a soft delete hides the stream from every read; an append recreates it with its versions going on', async () => {
    let s = await h.create();
    await fill(s, 'order-1', 5);
    await fill(s, 'order-2', 1);
    const { position } = await s.deleteStream('order-1', { expectedVersion: 5 });
    expect(position).toBeGreaterThan(0);
    expect(await versions(s, 'order-1')).toEqual([]);
    expect(await s.readStream('order-1', { direction: 'backward' })).toEqual([]);
    expect(await s.readEvent('order-1', 3)).toBeUndefined();
    expect(await s.streamVersion('order-1')).toBe(5);
    expect(await allOf(s)).toEqual(['order-2@1']);
    expect((await collect(s.readCategory('order'))).map((e) => e.streamId)).toEqual(['order-2']);
    expect((await collect(s.readByType('Even'))).map((e) => e.streamId)).toEqual(['order-2']);
    expect((await collect(s.readAll({ filter: { category: 'order' } }))).map((e) => e.streamId)).toEqual(['order-2']);
    expect((await s.listStreams()).streams.map((x) => x.streamId)).toEqual(['order-2']);
    expect(await s.getStreamMetadata('order-1')).toEqual({ truncateBefore: 6 });

    await s.append('order-1', [{ type: 'Again' }], { expectedVersion: 'no_stream' });
    await s.append('order-1', [{ type: 'Again' }], { expectedVersion: 6 });
    expect(await versions(s, 'order-1')).toEqual([6, 7]);
    expect((await s.listStreams()).streams.map((x) => x.streamId)).toEqual(['order-1', 'order-2']);
    s = await h.reopen(s);
    expect(await versions(s, 'order-1')).toEqual([6, 7]);
    expect(await allOf(s)).toEqual(['order-2@1', 'order-1@6', 'order-1@7']);
  });

  it('a deleted stream takes 0, no_stream or its last version as the expected version of its next append', async () => {
    const s = await h.create();
    await fill(s, 'a', 2);
    await s.deleteStream('a');
    await expect(s.append('a', [{ type: 'x' }], { expectedVersion: 'stream_exists' })).rejects.toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
    });
    await expect(s.append('a', [{ type: 'x' }], { expectedVersion: 1 })).rejects.toMatchObject({ code: 'WRONG_EXPECTED_VERSION' });
    expect((await s.append('a', [{ type: 'x' }], { expectedVersion: 0 })).lastVersion).toBe(3);
    await s.deleteStream('a', { expectedVersion: 3 });
    const [r] = await s.appendMany([{ streamId: 'a', events: [{ type: 'y' }, { type: 'y' }], expectedVersion: 'no_stream' }]);
    expect(r).toMatchObject({ firstVersion: 4, lastVersion: 5 });
  });

  it('a delete checks its expected version: on a mismatch nothing is written and the stream reads as before', async () => {
    const s = await h.create();
    await fill(s, 'a', 3);
    const end = await endOf(s);
    await expect(s.deleteStream('a', { expectedVersion: 2 })).rejects.toMatchObject({ code: 'WRONG_EXPECTED_VERSION', actualVersion: 3 });
    await expect(s.deleteStream('missing', { expectedVersion: 'stream_exists' })).rejects.toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
    });
    expect(await endOf(s)).toBe(end);
    expect(await versions(s, 'a')).toEqual([1, 2, 3]);
    expect(await s.getStreamMetadata('a')).toEqual({});
  });

  it('of an append and a delete expecting the same version, the first called wins', async () => {
    const s = await h.create();
    await fill(s, 'a', 2);
    const [appended, deleted] = await Promise.allSettled([
      s.append('a', [{ type: 'late' }], { expectedVersion: 2 }),
      s.deleteStream('a', { expectedVersion: 2 }),
    ]);
    expect(appended.status).toBe('fulfilled');
    expect(deleted).toMatchObject({ status: 'rejected', reason: { code: 'WRONG_EXPECTED_VERSION' } });
    expect(await versions(s, 'a')).toEqual([1, 2, 3]);
  });

  it('a hard delete refuses every later write to the stream, after a reopen too', async () => {
    let s = await h.create();
    await fill(s, 'gone', 2);
    await fill(s, 'kept', 1);
    await s.deleteStream('gone', { hard: true });
    expect(await versions(s, 'gone')).toEqual([]);
    const err = await s.append('gone', [{ type: 'x' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamDeletedError);
    expect(err).toMatchObject({ code: 'STREAM_DELETED', streamId: 'gone' });
    await expect(s.append('gone', [{ type: 'x' }], { expectedVersion: 'no_stream' })).rejects.toMatchObject({ code: 'STREAM_DELETED' });
    await expect(s.deleteStream('gone')).rejects.toMatchObject({ code: 'STREAM_DELETED' });
    await expect(s.setStreamMetadata('gone', { maxCount: 3 })).rejects.toMatchObject({ code: 'STREAM_DELETED' });
    const both = [
      { streamId: 'kept', events: [{ type: 'y' }] },
      { streamId: 'gone', events: [{ type: 'x' }] },
    ];
    await expect(s.appendMany(both)).rejects.toMatchObject({ code: 'STREAM_DELETED' });
    expect(await versions(s, 'kept')).toEqual([1]);
    const results = await s.appendMany(both, { atomic: false });
    expect(results[0]).toMatchObject({ lastVersion: 2 });
    expect(results[1]).toBeInstanceOf(StreamDeletedError);
    await s.deleteStream('never-written', { hard: true });
    await expect(s.append('never-written', [{ type: 'x' }])).rejects.toMatchObject({ code: 'STREAM_DELETED' });
    s = await h.reopen(s);
    await expect(s.append('gone', [{ type: 'x' }])).rejects.toMatchObject({ code: 'STREAM_DELETED' });
    expect(await s.getStreamMetadata('gone')).toEqual({ hardDeleted: true });
    expect(await allOf(s)).toEqual(['kept@1', 'kept@2']);
    expect((await s.listStreams()).streams.map((x) => x.streamId)).toEqual(['kept']);
  });

  it('maxCount, truncateBefore and maxAgeMs hide the events past them; {} clears the rules', async () => {
    let s = await h.create();
    await fill(s, 'a', 5);
    await s.setStreamMetadata('a', { maxCount: 2 });
    expect(await versions(s, 'a')).toEqual([4, 5]);
    await fill(s, 'a', 1);
    expect(await versions(s, 'a')).toEqual([5, 6]);
    expect((await s.readStream('a', { direction: 'backward', limit: 5 })).map((e) => e.version)).toEqual([6, 5]);
    expect(await s.readEvent('a', 4)).toBeUndefined();
    expect((await s.readEvent('a', 6))?.version).toBe(6);
    expect((await collect(s.readAll())).map((e) => e.version)).toEqual([5, 6]);
    await s.setStreamMetadata('a', { truncateBefore: 3 });
    expect(await versions(s, 'a')).toEqual([3, 4, 5, 6]);
    await s.setStreamMetadata('a', {});
    expect(await versions(s, 'a')).toEqual([1, 2, 3, 4, 5, 6]);
    await s.setStreamMetadata('a', { maxAgeMs: 200 });
    await new Promise((r) => setTimeout(r, 250));
    expect(await versions(s, 'a')).toEqual([]);
    await fill(s, 'a', 1);
    expect(await versions(s, 'a')).toEqual([7]);
    await s.setStreamMetadata('a', { maxCount: 3, truncateBefore: 2 });
    s = await h.reopen(s);
    expect(await s.getStreamMetadata('a')).toEqual({ maxCount: 3, truncateBefore: 2 });
    expect(await versions(s, 'a')).toEqual([5, 6, 7]);
  });

  it('bad input is refused with INVALID_ARGUMENT and writes nothing', async () => {
    const s = await h.create();
    await fill(s, 'a', 2);
    const end = await endOf(s);
    const bad: [string, () => Promise<unknown>][] = [
      ['maxCount 0', () => s.setStreamMetadata('a', { maxCount: 0 })],
      ['maxCount -1', () => s.setStreamMetadata('a', { maxCount: -1 })],
      ['maxCount 1.5', () => s.setStreamMetadata('a', { maxCount: 1.5 })],
      ['maxCount string', () => s.setStreamMetadata('a', { maxCount: '3' as unknown as number })],
      ['maxAgeMs 0', () => s.setStreamMetadata('a', { maxAgeMs: 0 })],
      ['truncateBefore 0', () => s.setStreamMetadata('a', { truncateBefore: 0 })],
      ['unknown key', () => s.setStreamMetadata('a', { maxcount: 3 } as never)],
      ['hardDeleted key', () => s.setStreamMetadata('a', { hardDeleted: true } as never)],
      ['metadata null', () => s.setStreamMetadata('a', null as never)],
      ['stream id empty', () => s.setStreamMetadata('', {})],
      ['stream id number', () => s.deleteStream(7 as unknown as string)],
      ['hard not boolean', () => s.deleteStream('a', { hard: 'yes' as unknown as boolean })],
      ['expectedVersion bad', () => s.deleteStream('a', { expectedVersion: -2 })],
      ['delete unknown key', () => s.deleteStream('a', { soft: true } as never)],
      ['system stream', () => s.deleteStream('$$meta-000000000000')],
      ['get: stream id empty', () => s.getStreamMetadata('')],
      ['append to a system stream', () => s.append('$$meta-000000000000', [{ type: '$metadata', data: {} }])],
    ];
    for (const [what, call] of bad) await expect(call(), what).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await endOf(s)).toBe(end);
    expect(await versions(s, 'a')).toEqual([1, 2]);
    expect(await s.getStreamMetadata('a')).toEqual({});
  });

  it('a delete drops the snapshots; aggregate folds only what reads return', async () => {
    const s = await h.create();
    await fill(s, 'a', 4);
    const sum = { initialState: 0, evolve: (n: number, e: { data: unknown }) => n + (e.data as { i: number }).i };
    await s.saveSnapshot('a', 4, 100);
    expect(await s.aggregate('a', sum)).toEqual({ state: 100, version: 4 });
    await s.deleteStream('a');
    expect(await s.loadSnapshot('a')).toBeUndefined();
    expect(await s.aggregate('a', sum)).toEqual({ state: 0, version: 4 });
    await s.append('a', [{ type: 'x', data: { i: 10 } }], { expectedVersion: 4 });
    expect(await s.aggregate('a', sum)).toEqual({ state: 10, version: 5 });
  });

  it('a command whose events were deleted reads as unknown, and a retry still does not write again', async () => {
    const s = await h.create();
    const first = await s.append('a', [{ type: 'x' }], { commandId: 'cmd-1' });
    await s.deleteStream('a');
    expect(await s.readCommand('cmd-1')).toBeUndefined();
    await expect(s.append('a', [{ type: 'x' }], { commandId: 'cmd-1' })).rejects.toMatchObject({
      code: 'DUPLICATE_COMMAND',
      original: { position: first.position },
    });
    expect(await s.streamVersion('a')).toBe(1);
  });

  it('subscriptions do not deliver deleted events', async () => {
    const s = await h.create();
    await fill(s, 'a', 3);
    await fill(s, 'b', 1);
    await s.deleteStream('a');
    await s.append('a', [{ type: 'new', data: { i: 9 } }]);
    const got: number[] = [];
    for await (const e of s.subscribe({ streamId: 'a' })) {
      got.push(e.version);
      if (got.length === 1) break;
    }
    expect(got).toEqual([4]);
    const log: string[] = [];
    for await (const e of s.subscribe()) {
      log.push(`${e.streamId}@${e.version}`);
      if (log.length === 2) break;
    }
    expect(log).toEqual(['b@1', 'a@4']);
  });
}
