/** The contract for wrong arguments: a typed error, and the store unchanged. */
import { expect, it } from 'vitest';
import { InvalidArgumentError, LimitExceededError } from '../errors.js';
import { collect, failure, type Harness } from './harness.js';

const bad = [undefined, null, '', 42, -1, 1.5, Number.NaN, {}, [], () => 1, 'a\ud800'];

export function badInputTests(h: Harness): void {
  it('every method rejects wrong arguments with a typed error and leaves the store unchanged', async () => {
    const s = await h.create();
    await s.append('a', [{ type: 'x' }], { commandId: 'c' });
    const before = await s.stats();
    const expectCode = async (p: () => unknown, label: string) => {
      const err = await failure(p);
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
    await expectCode(() => any.readStream!('a', { fromVersoin: 2 }), 'unknown readStream option');
    await expectCode(() => any.append!('a', [{ type: 'x', id: 7 }]), 'event id');
    await expectCode(() => any.append!('a', [{ type: 'x' }], { commandId: 5 }), 'commandId');
    await expectCode(() => any.appendMany!([{ streamId: 'b', events: [{ type: 'x' }] }], { atomic: 'yes' }), 'atomic');
    await expectCode(() => any.appendMany!([{ streamId: 'b', events: [] }]), 'appendMany empty events');
    await expectCode(() => any.aggregate!('a', { initialState: 0 }), 'aggregate evolve');
    await expectCode(() => s.subscribe({ after: 1.5 }), 'subscribe after');
    await expectCode(() => s.subscribe({ after: 1, fromEnd: true }), 'subscribe after and fromEnd');
    expect(await s.stats()).toEqual(before);
    expect((await s.readStream('a')).length).toBe(1);
  });

  it('enforces its limits in UTF-8 bytes with typed errors and leaves the store unchanged', async () => {
    const s = await h.create({ limits: { maxStreamIdBytes: 8, maxEventBytes: 1000, maxEventsPerAppend: 3 } });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const cases: [unknown, unknown, unknown, string][] = [
      ['', [{ type: 'x' }], {}, 'INVALID_ARGUMENT'],
      [42, [{ type: 'x' }], {}, 'INVALID_ARGUMENT'],
      ['a\ud800', [{ type: 'x' }], {}, 'INVALID_ARGUMENT'],
      ['toolongstream', [{ type: 'x' }], {}, 'LIMIT_EXCEEDED'],
      ['日本語', [{ type: 'x' }], {}, 'LIMIT_EXCEEDED'],
      ['ééééé', [{ type: 'x' }], {}, 'LIMIT_EXCEEDED'],
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
    for (const [stream, events, opts, code] of cases) {
      // @ts-expect-error deliberately wrong types
      await expect(s.append(stream, events, opts), JSON.stringify([stream, code])).rejects.toMatchObject({ code });
    }
    await expect(s.readStream('s', { fromVersion: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await s.stats()).toMatchObject({ eventCount: 0, streamCount: 0 });
    await s.append('éééé', [{ type: 'x' }]);
    await s.append('😀😀', [{ type: 'x' }]);
    const d = await h.create();
    await expect(d.append('s', [{ type: 'x' }], { commandId: '日'.repeat(342) })).rejects.toBeInstanceOf(LimitExceededError);
    await expect(d.readCommand('日'.repeat(342))).rejects.toBeInstanceOf(LimitExceededError);
    await d.append('s', [{ type: 'x' }], { commandId: '日'.repeat(341) });
    await d.append('s', [{ type: 'x' }], { commandId: 'a'.repeat(1024) });
    expect((await d.readCommand('日'.repeat(341)))?.[0]?.streamId).toBe('s');
    expect(await d.streamVersion('s')).toBe(2);
  });
}
