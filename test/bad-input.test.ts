import { describe, expect, it } from 'vitest';
import { EventStore } from '../lib/index.js';
import { collect, ENGINES, openStore, tempDir } from './helpers.js';

const bad = [undefined, null, '', 42, -1, 1.5, Number.NaN, {}, [], () => 1, 'a\ud800'];

describe.each(ENGINES)('bad input (%s engine)', (engine) => {
  it('every method rejects wrong arguments with a typed error and leaves the store unchanged', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
    await s.append('a', [{ type: 'x' }], { commandId: 'c' });
    const before = await s.stats();
    const expectCode = async (p: () => Promise<unknown> | unknown, label: string) => {
      let err: unknown;
      try {
        await p();
      } catch (e) {
        err = e;
      }
      expect(err, label).toBeDefined();
      expect((err as { code?: string }).code, label).toMatch(/^(INVALID_ARGUMENT|LIMIT_EXCEEDED)$/);
    };
    const any = s as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    for (const v of bad) {
      const l = String(v);
      if (typeof v !== 'string' || v === '' || v.includes('\ud800')) {
        await expectCode(() => any.append!(v, [{ type: 'x' }]), `append stream ${l}`);
        await expectCode(() => any.streamVersion!(v), `streamVersion ${l}`);
        await expectCode(() => any.readStream!(v), `readStream ${l}`);
        await expectCode(() => any.readEvent!(v, 1), `readEvent ${l}`);
        await expectCode(() => any.loadSnapshot!(v), `loadSnapshot ${l}`);
        await expectCode(() => any.readCommand!(v), `readCommand ${l}`);
      }
      if (!Array.isArray(v) || v.length === 0) await expectCode(() => any.append!('a', v), `append events ${l}`);
      const count = typeof v === 'number' && Number.isInteger(v) && v >= 0;
      if (v !== undefined && !count) {
        await expectCode(() => any.append!('a', [{ type: 'x' }], { expectedVersion: v }), `expectedVersion ${l}`);
        await expectCode(() => any.readStream!('a', { fromVersion: v }), `fromVersion ${l}`);
        await expectCode(() => any.readStream!('a', { limit: v }), `limit ${l}`);
        await expectCode(() => collect(s.readAll({ after: v as number })), `readAll after ${l}`);
      }
      if (v !== undefined) {
        await expectCode(() => any.saveSnapshot!('a', v, {}), `saveSnapshot version ${l}`);
        await expectCode(() => any.appendMany!(v), `appendMany ${l}`);
        await expectCode(() => any.append!('a', [{ type: v }]), `type ${l}`);
      }
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) await expectCode(() => any.readEvent!('a', v), `readEvent version ${l}`);
    }
    await expectCode(() => any.readStream!('a', { direction: 'sideways' }), 'direction');
    await expectCode(() => any.append!('a', [{ type: 'x', id: 7 }]), 'event id');
    await expectCode(() => any.append!('a', [{ type: 'x' }], { commandId: 5 }), 'commandId');
    await expectCode(() => any.appendMany!([{ streamId: 'b', events: [{ type: 'x' }] }], { atomic: 'yes' }), 'atomic');
    await expectCode(() => any.appendMany!([{ streamId: 'b', events: [] }]), 'appendMany empty events');
    await expectCode(() => any.aggregate!('a', { initialState: 0 }), 'aggregate evolve');
    await expectCode(() => s.subscribe({ after: 1.5 }), 'subscribe after');
    expect(await s.stats()).toEqual(before);
    expect((await s.readStream('a')).length).toBe(1);
  });

  it('open rejects bad options with INVALID_ARGUMENT', async () => {
    const dir = tempDir();
    const cases: unknown[] = [
      { engine: 'rust' },
      { chunkSize: 1000 },
      { chunkSize: (1 << 20) + 1 },
      { durability: 'maybe' },
      { flushIntervalMs: 0 },
      { flushPollMicros: -1 },
      { flushPollMicros: 0.5 },
      { flushPollMicros: 1_000_001 },
      { commandLookup: 'cloud' },
      { retentionMs: -5 },
      { maxRecentCommands: 0 },
      { maxRecentStreams: -1 },
      { maxRecentCommands: 2.5 },
      { limits: { maxEventBytes: 0 } },
      { readOnly: 'no' },
      { indexMemtableEntries: 1.5 },
      { maxIndexSegments: 1 },
      'options',
    ];
    for (const c of cases) {
      await expect(EventStore.open(dir, c as never), JSON.stringify(c)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(EventStore.open('', { engine })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(EventStore.open(`${dir}/missing`, { engine, readOnly: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
