/** The contract of snapshots and aggregate. */
import { expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import type { RecordedEvent } from '../types.js';
import type { Harness } from './harness.js';

interface Counter {
  total: number;
  seen: number;
}
const evolve = (s: Counter, e: RecordedEvent): Counter => ({ total: s.total + (e.data as number), seen: s.seen + 1 });

export function snapshotTests(h: Harness): void {
  it('saves and loads the newest snapshot, after a reopen too; refuses versions the stream does not have', async () => {
    let s = await h.create();
    for (let i = 1; i <= 5; i++) await s.append('acc', [{ type: 'Add', data: i }]);
    expect(await s.loadSnapshot('acc')).toBeUndefined();
    await s.saveSnapshot('acc', 3, { total: 6 });
    expect(await s.loadSnapshot('acc')).toEqual({ version: 3, state: { total: 6 } });
    await s.saveSnapshot('acc', 2, { total: 3 });
    expect((await s.loadSnapshot('acc'))?.version).toBe(3);
    await s.saveSnapshot('acc', 5, new Uint8Array([1, 2, 3]));
    expect(await s.loadSnapshot('acc')).toEqual({ version: 5, state: new Uint8Array([1, 2, 3]) });
    await expect(s.saveSnapshot('acc', 6, {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.saveSnapshot('acc', 0, {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.saveSnapshot('acc', 1.5, {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.saveSnapshot('acc', 1, () => 1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.saveSnapshot('nope', 1, {})).rejects.toBeInstanceOf(InvalidArgumentError);
    s = await h.reopen(s);
    expect(await s.loadSnapshot('acc')).toEqual({ version: 5, state: new Uint8Array([1, 2, 3]) });
  });

  it('aggregate folds only the events after the snapshot and saves one every N events', async () => {
    const s = await h.create();
    for (let i = 1; i <= 10; i++) await s.append('acc', [{ type: 'Add', data: i }]);
    let calls = 0;
    const counting = (st: Counter, e: RecordedEvent) => {
      calls++;
      return evolve(st, e);
    };
    const first = await s.aggregate('acc', { initialState: { total: 0, seen: 0 }, evolve: counting, snapshotEvery: 5 });
    expect(first).toEqual({ state: { total: 55, seen: 10 }, version: 10 });
    expect(calls).toBe(10);
    expect((await s.loadSnapshot('acc'))?.version).toBe(10);
    for (let i = 11; i <= 13; i++) await s.append('acc', [{ type: 'Add', data: i }]);
    calls = 0;
    const second = await s.aggregate('acc', { initialState: { total: 0, seen: 0 }, evolve: counting, snapshotEvery: 5 });
    expect(second).toEqual({ state: { total: 91, seen: 13 }, version: 13 });
    expect(calls).toBe(3);
    expect((await s.loadSnapshot('acc'))?.version).toBe(10);
    expect(await s.aggregate('empty', { initialState: { total: 0, seen: 0 }, evolve })).toEqual({
      state: { total: 0, seen: 0 },
      version: 0,
    });
    await expect(s.aggregate('acc', { initialState: 0, evolve: 'x' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
}
