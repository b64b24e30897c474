// annals/emmett: Emmett's EventStore contract over both engines: reads, appends, expected
// versions, Emmett's command handlers, aggregateStream, shared handles, JSON of bigints, the empty
// append rule and bad input.
import {
  CommandHandler,
  DeciderCommandHandler,
  ExpectedVersionConflictError,
  isExpectedVersionConflictError,
  NO_CONCURRENCY_CHECK,
  type ReadStreamOptions,
  STREAM_DOES_NOT_EXIST,
  STREAM_EXISTS,
} from '@event-driven-io/emmett';
import { describe, expect, it } from 'vitest';
import { getAnnalsEventStore } from '../lib/emmett/index.js';
import { EventStore, InvalidArgumentError, StoreClosedError } from '../lib/index.js';
import { type Cart, type CartEvent, decide, emmettStore, evolve, initialState } from './emmett-fixtures.js';
import { ENGINES, MiB, tempDir } from './helpers.js';

const added = (qty: number): CartEvent => ({ type: 'ItemAdded', data: { sku: 'a', qty } });

describe.each(ENGINES)('annals/emmett, %s engine', (engine) => {
  it('appends and reads back with Emmett metadata, bigint versions and positions', async () => {
    const s = emmettStore(engine);
    const r = await s.appendToStream('cart-1', [added(1), { type: 'ItemAdded', data: { sku: 'b', qty: 2 }, metadata: { by: 'ada' } }]);
    expect(r).toEqual({ nextExpectedStreamVersion: 2n, createdNewStream: true, lastEventGlobalPosition: expect.any(BigInt) });
    const read = await s.readStream<CartEvent>('cart-1');
    expect(read.currentStreamVersion).toBe(2n);
    expect(read.streamExists).toBe(true);
    expect(read.events.map((e) => e.metadata.streamPosition)).toEqual([1n, 2n]);
    const [first, second] = read.events;
    expect(first).toMatchObject({ type: 'ItemAdded', data: { sku: 'a', qty: 1 }, kind: 'Event' });
    expect(first?.metadata).toMatchObject({ streamName: 'cart-1', messageId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(second?.metadata).toMatchObject({ by: 'ada', globalPosition: r.lastEventGlobalPosition });
    expect((first?.metadata.globalPosition as bigint) < (second?.metadata.globalPosition as bigint)).toBe(true);
    expect(await s.streamExists('cart-1')).toBe(true);
    expect(await s.streamExists('cart-2')).toBe(false);
    expect(await s.readStream('cart-2')).toEqual({ currentStreamVersion: 0n, events: [], streamExists: false });
    const again = await s.appendToStream('cart-1', [added(3)]);
    expect(again.createdNewStream).toBe(false);
    expect(again.nextExpectedStreamVersion).toBe(3n);
  });

  it('reads ranges: from, to and maxCount, and checks expectedStreamVersion', async () => {
    const s = emmettStore(engine);
    await s.appendToStream('r', [1, 2, 3, 4, 5].map(added));
    const qty = async (o: ReadStreamOptions<bigint, CartEvent>) =>
      (await s.readStream<CartEvent>('r', o)).events.map((e) => (e.data as { qty: number }).qty);
    expect(await qty({ from: 2n })).toEqual([2, 3, 4, 5]);
    expect(await qty({ from: 2n, to: 3n })).toEqual([2, 3]);
    expect(await qty({ from: 4n, maxCount: 5n })).toEqual([4, 5]);
    expect(await qty({ maxCount: 2n })).toEqual([1, 2]);
    expect(await qty({ from: 9n })).toEqual([]);
    expect((await s.readStream('r', { expectedStreamVersion: 5n })).currentStreamVersion).toBe(5n);
    await expect(s.readStream('r', { expectedStreamVersion: 4n })).rejects.toBeInstanceOf(ExpectedVersionConflictError);
    await expect(s.readStream('r', { expectedStreamVersion: STREAM_DOES_NOT_EXIST })).rejects.toBeInstanceOf(ExpectedVersionConflictError);
  });

  it('maps expected versions and raises ExpectedVersionConflictError, writing nothing', async () => {
    const s = emmettStore(engine);
    await s.appendToStream('v', [added(1)], { expectedStreamVersion: STREAM_DOES_NOT_EXIST });
    const fail = (o: Parameters<typeof s.appendToStream>[2]) => s.appendToStream('v', [added(9)], o).catch((e: unknown) => e);
    const err = await fail({ expectedStreamVersion: STREAM_DOES_NOT_EXIST });
    expect(err).toBeInstanceOf(ExpectedVersionConflictError);
    // Emmett keeps both versions as text.
    expect(err).toMatchObject({ current: '1', expected: STREAM_DOES_NOT_EXIST });
    expect(await fail({ expectedStreamVersion: 0n })).toBeInstanceOf(ExpectedVersionConflictError);
    expect(await fail({ expectedStreamVersion: 2n })).toBeInstanceOf(ExpectedVersionConflictError);
    expect(await s.appendToStream('w', [added(1)], { expectedStreamVersion: STREAM_EXISTS }).catch((e: unknown) => e)).toBeInstanceOf(
      ExpectedVersionConflictError,
    );
    expect((await s.readStream('v')).currentStreamVersion).toBe(1n);
    expect(await s.streamExists('w')).toBe(false);
    await s.appendToStream('v', [added(2)], { expectedStreamVersion: 1n });
    await s.appendToStream('v', [added(3)], { expectedStreamVersion: STREAM_EXISTS });
    await s.appendToStream('v', [added(4)], { expectedStreamVersion: NO_CONCURRENCY_CHECK });
    await s.appendToStream('v', [added(5)]);
    expect((await s.readStream('v')).currentStreamVersion).toBe(5n);
  });

  it("runs Emmett's CommandHandler and DeciderCommandHandler, retrying on conflicts", async () => {
    const s = emmettStore(engine);
    const onVersionConflict = {
      retries: 200,
      minTimeout: 1,
      maxTimeout: 5,
      randomize: true,
      shouldRetryError: isExpectedVersionConflictError,
    };
    const handle = CommandHandler<Cart, CartEvent>({ evolve, initialState, retry: { onVersionConflict } });
    const first = await handle(s, 'cart-9', () => added(2));
    expect(first.newState).toEqual({ items: 2, confirmed: false });
    expect(first.nextExpectedStreamVersion).toBe(1n);
    // Concurrent commands on one stream: each conflict is retried on the new state; none is lost.
    await Promise.all(Array.from({ length: 10 }, () => handle(s, 'cart-9', () => added(1))));
    const { state, currentStreamVersion } = await s.aggregateStream('cart-9', { evolve, initialState });
    expect(state.items).toBe(12);
    expect(currentStreamVersion).toBe(11n);
    const decider = DeciderCommandHandler({ decide, evolve, initialState });
    const r = await decider(s, 'cart-9', { type: 'Confirm', data: { total: 12 } });
    expect(r.newState.confirmed).toBe(true);
    await expect(decider(s, 'cart-9', { type: 'AddItem', data: { sku: 'x', qty: 1 } })).rejects.toThrow('already confirmed');
    // An explicit expected version that is stale is not retried away.
    await expect(handle(s, 'cart-9', () => added(1), { expectedStreamVersion: 3n })).rejects.toBeInstanceOf(ExpectedVersionConflictError);
  });

  it('aggregateStream folds read events and reports the last global position', async () => {
    const s = emmettStore(engine);
    expect(await s.aggregateStream('none', { evolve, initialState })).toEqual({
      currentStreamVersion: 0n,
      state: initialState(),
      streamExists: false,
    });
    const r = await s.appendToStream('agg', [added(1), added(2)]);
    const seen: bigint[] = [];
    const agg = await s.aggregateStream<Cart, CartEvent>('agg', {
      initialState,
      evolve: (st: Cart, e: CartEvent) => {
        seen.push((e as unknown as { metadata: { streamPosition: bigint } }).metadata.streamPosition);
        return evolve(st, e);
      },
      read: { to: 1n },
    });
    expect(agg).toMatchObject({ state: { items: 1 }, streamExists: true, currentStreamVersion: 2n });
    expect(seen).toEqual([1n]);
    expect(await s.aggregateStream('agg', { evolve, initialState })).toMatchObject({ lastEventGlobalPosition: r.lastEventGlobalPosition });
  });

  it('an empty append is a no-op that still checks the expected version', async () => {
    const s = emmettStore(engine);
    expect(await s.appendToStream('e', [])).toEqual({
      nextExpectedStreamVersion: 0n,
      createdNewStream: false,
      lastEventGlobalPosition: 0n,
    });
    const r = await s.appendToStream('e', [added(1)]);
    expect(await s.appendToStream('e', [], { expectedStreamVersion: 1n })).toEqual({
      nextExpectedStreamVersion: 1n,
      createdNewStream: false,
      lastEventGlobalPosition: r.lastEventGlobalPosition,
    });
    await expect(s.appendToStream('e', [], { expectedStreamVersion: STREAM_DOES_NOT_EXIST })).rejects.toBeInstanceOf(
      ExpectedVersionConflictError,
    );
    expect((await s.readStream('e')).currentStreamVersion).toBe(1n);
  });

  it('writes bigint values as strings by default; a reviver brings them back', async () => {
    const dir = tempDir();
    const reviver = (_k: string, v: unknown) => (typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v);
    const replacer = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);
    const plain = emmettStore(engine, { directory: dir });
    await plain.appendToStream('big', [{ type: 'Paid', data: { amount: 12345678901234567890n, nested: [1n] } }]);
    expect((await plain.readStream('big')).events[0]?.data).toEqual({ amount: '12345678901234567890', nested: ['1'] });
    await plain.close();
    const typed = emmettStore(engine, { directory: dir, json: { replacer, reviver } });
    await typed.appendToStream('big', [{ type: 'Paid', data: { amount: -5n, at: 'x' }, metadata: { seq: 7n } }]);
    const [, e] = (await typed.readStream('big')).events;
    expect(e?.data).toEqual({ amount: -5n, at: 'x' });
    expect(e?.metadata).toMatchObject({ seq: 7n, streamPosition: 2n });
  });

  it('two handles over one directory share one store, closed with the last handle', async () => {
    const a = emmettStore(engine);
    const b = emmettStore(engine, { directory: a.directory });
    await a.appendToStream('shared', [added(1)]);
    expect((await b.readStream('shared')).currentStreamVersion).toBe(1n);
    expect(await a.store()).toBe(await b.store());
    const core = await a.store();
    await a.close();
    await a.close(); // a second close of a handle does nothing
    await expect(a.readStream('shared')).rejects.toBeInstanceOf(StoreClosedError);
    await b.appendToStream('shared', [added(2)]);
    await b.close();
    await expect(core.streamVersion('shared')).rejects.toBeInstanceOf(StoreClosedError);
    // Closed with the last handle: the directory opens again, in this process or as a plain store.
    const plain = await EventStore.open(a.directory, { engine });
    expect(await plain.streamVersion('shared')).toBe(2);
    await plain.close();
    const c = emmettStore(engine, { directory: a.directory });
    expect((await c.readStream('shared')).currentStreamVersion).toBe(2n);
  });

  it('a directory that cannot be opened rejects the first call; the next factory call tries again', async () => {
    const dir = tempDir();
    const held = await EventStore.open(dir, { engine, chunkSize: MiB });
    const blocked = emmettStore(engine, { directory: dir });
    await expect(blocked.readStream('x')).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await blocked.close();
    await held.close();
    const s = emmettStore(engine, { directory: dir });
    expect(await s.streamExists('x')).toBe(false);
  });

  it('refuses bad input with INVALID_ARGUMENT, leaving the store unchanged', async () => {
    const bad = (f: () => unknown) => expect(f).toThrow(InvalidArgumentError);
    bad(() => getAnnalsEventStore({ directory: '' }));
    bad(() => getAnnalsEventStore({ directory: 42 as unknown as string }));
    bad(() => getAnnalsEventStore({ directory: tempDir(), durability: 'often' as never }));
    bad(() => getAnnalsEventStore({ directory: tempDir(), hooks: { onAfterCommit: 'x' as never } }));
    bad(() => getAnnalsEventStore({ directory: tempDir(), json: { revive: () => 1 } as never }));
    const s = emmettStore(engine);
    await s.appendToStream('ok', [added(1)]);
    const rejects = (p: Promise<unknown>, pattern: RegExp) => expect(p).rejects.toThrow(pattern);
    await rejects(s.appendToStream('', [added(1)]), /streamName must be a non-empty string, got the string ""/);
    await rejects(s.appendToStream('ok', 'x' as never), /events must be an array, got the string/);
    await rejects(s.appendToStream('ok', [null as never]), /events\[0\] must be an Emmett event/);
    await rejects(s.appendToStream('ok', [{ data: {} } as never]), /events\[0\].type must be a string, got undefined/);
    await rejects(s.appendToStream('ok', [added(1)], { expectedStreamVersion: -1n }), /expectedStreamVersion must be .* got the bigint -1/);
    await rejects(s.appendToStream('ok', [added(1)], { expectedStreamVersion: 'latest' as never }), /got the string "latest"/);
    await rejects(s.appendToStream('ok', [added(1)], { expected: 1n } as never), /unknown appendToStream option 'expected'/);
    await rejects(s.readStream('ok', { from: -1n }), /from must be a non-negative bigint, got the bigint -1/);
    await rejects(s.readStream('ok', { maxCount: 'all' as never }), /maxCount must be a non-negative bigint/);
    await rejects(
      s.aggregateStream('ok', { evolve: 1 as never, initialState }),
      /evolve must be a function, got the number 1|evolve must be a function/,
    );
    await expect(s.appendToStream('ok', [added(1)], { expectedStreamVersion: -1n })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await s.readStream('ok')).currentStreamVersion).toBe(1n);
  });
});
