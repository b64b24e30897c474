import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, type RecordedEvent } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

interface Counter {
  total: number;
  seen: number;
}
const evolve = (s: Counter, e: RecordedEvent): Counter => ({ total: s.total + (e.data as number), seen: s.seen + 1 });

describe.each(ENGINES)('snapshots and aggregate (%s engine)', (engine) => {
  it('saves and loads the newest snapshot; refuses versions the stream does not have', async () => {
    const s = await openStore(tempDir(), engine);
    for (let i = 1; i <= 5; i++) await s.append('acc', [{ type: 'Add', data: i }]);
    expect(await s.loadSnapshot('acc')).toBeUndefined();
    await s.saveSnapshot('acc', 3, { total: 6 });
    expect(await s.loadSnapshot('acc')).toEqual({ version: 3, state: { total: 6 } });
    await s.saveSnapshot('acc', 2, { total: 3 }); // older: the newer one stays
    expect((await s.loadSnapshot('acc'))?.version).toBe(3);
    await s.saveSnapshot('acc', 5, new Uint8Array([1, 2, 3]));
    expect(await s.loadSnapshot('acc')).toEqual({ version: 5, state: new Uint8Array([1, 2, 3]) });
    await expect(s.saveSnapshot('acc', 6, {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.saveSnapshot('acc', 0, {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.saveSnapshot('acc', 1.5, {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.saveSnapshot('acc', 1, () => 1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.saveSnapshot('nope', 1, {})).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await s.loadSnapshot('acc'))?.version).toBe(5);
  });

  it('aggregate folds only the events after the snapshot and saves one every N events', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
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
    expect((await s.loadSnapshot('acc'))?.version).toBe(10); // only 3 folded: no new snapshot
    expect(await s.aggregate('empty', { initialState: { total: 0, seen: 0 }, evolve })).toEqual({
      state: { total: 0, seen: 0 },
      version: 0,
    });
    await expect(s.aggregate('acc', { initialState: 0, evolve: 'x' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('ignores and removes a damaged snapshot: the state comes from the log', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
    for (let i = 1; i <= 4; i++) await s.append('acc', [{ type: 'Add', data: i }]);
    await s.saveSnapshot('acc', 4, { total: 999, seen: 4 });
    const snapDir = path.join(dir, 'snapshots');
    const sub = fs.readdirSync(snapDir)[0] as string;
    const file = path.join(snapDir, sub, fs.readdirSync(path.join(snapDir, sub))[0] as string);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 6] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect(await s.loadSnapshot('acc')).toBeUndefined();
      expect(fs.existsSync(file)).toBe(false);
      expect((await s.aggregate('acc', { initialState: { total: 0, seen: 0 }, evolve })).state).toEqual({ total: 10, seen: 4 });
      await new Promise((r) => setImmediate(r));
      expect(warnings.some((w) => w.includes('damaged'))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
