import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventStore } from '../lib/index.js';
import { collect, ENGINES, openStore, tempDir } from './helpers.js';

// The contract for wrong arguments every store meets is in lib/conformance/bad-input.ts; what stays
// here is the embedded store's own (open options, and the newer argument checks).
describe.each(ENGINES)('bad input (%s engine)', (engine) => {
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
    await expect(EventStore.open(`${dir}/missing`, { engine, readOnly: true })).rejects.toMatchObject({ code: 'NOT_A_STORE' });
  });
});

describe.each(ENGINES)('validation gaps (%s engine)', (engine) => {
  const refusal = async (p: () => unknown): Promise<{ code?: string; message: string }> => {
    try {
      await p();
    } catch (err) {
      return err as { code?: string; message: string };
    }
    throw new Error('not refused');
  };

  it('refuses unknown option names, naming them, at open and in every method', async () => {
    const dir = tempDir();
    for (const [options, name] of [
      [{ chunksize: 1 << 20 }, "'chunksize'"],
      [{ limits: { maxEventByte: 10 } }, "'maxEventByte'"],
      [{ durability: 'sync', readonly: true, engin: 'js' }, "'readonly', 'engin'"],
    ] as const) {
      const err = await refusal(() => EventStore.open(dir, { engine, ...options } as never));
      expect(err.code, JSON.stringify(options)).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain(name);
    }
    expect(fs.existsSync(path.join(dir, 'chunks'))).toBe(false);
    const s = await openStore(dir, engine);
    await s.append('a', [{ type: 'x' }]);
    const any = s as unknown as Record<string, (...a: unknown[]) => unknown>;
    const calls: [string, () => unknown][] = [
      ['expectedversion', () => any.append!('a', [{ type: 'x' }], { expectedversion: 1 })],
      ['commandid', () => any.appendMany!([{ streamId: 'a', events: [{ type: 'x' }] }], { commandid: 'c' })],
      ['expected', () => any.appendMany!([{ streamId: 'a', events: [{ type: 'x' }], expected: 1 }])],
      ['from', () => any.readStream!('a', { from: 2 })],
      ['start', () => collect(any.readAll!({ start: 0 }) as AsyncIterable<unknown>)],
      ['stream', () => any.subscribe!({ stream: 'a' })],
      ['every', () => any.aggregate!('a', { initialState: 0, evolve: (x: number) => x, every: 2 })],
    ];
    for (const [name, call] of calls) {
      const err = await refusal(call);
      expect(err.code, name).toBe('INVALID_ARGUMENT');
      expect(err.message, name).toContain(`'${name}'`);
    }
    expect(await s.streamVersion('a')).toBe(1);
  });

  it('refuses readAll and subscribe after a position that is no event, below the first event too', async () => {
    const s = await openStore(tempDir(), engine);
    await s.append('a', [{ type: 'x' }, { type: 'y' }]);
    const [first, second] = await collect(s.readAll());
    expect((await collect(s.readAll({ after: 0 }))).length).toBe(2);
    expect((await collect(s.readAll({ after: first!.position }))).map((e) => e.position)).toEqual([second!.position]);
    for (const after of [3, 63, first!.position + 1]) {
      const err = await refusal(() => collect(s.readAll({ after })));
      expect(err.code, String(after)).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain(`the number ${after}`);
      expect((await refusal(() => s.subscribe({ after }))).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('refuses stream ids that are blank or hold control characters on writes, and still reads any id', async () => {
    const s = await openStore(tempDir(), engine);
    for (const id of [' ', '   ', '\t', ' \n ', '\u00a0', 'a\u0000b', 'line\nbreak', 'tab\there', 'bell\u0007', 'del\u007f', 'c1\u0085']) {
      const err = await refusal(() => s.append(id, [{ type: 'x' }]));
      expect(err.code, JSON.stringify(id)).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain(`the string ${JSON.stringify(id)}`);
      const many = await refusal(() => s.appendMany([{ streamId: id, events: [{ type: 'x' }] }]));
      expect(many.code, JSON.stringify(id)).toBe('INVALID_ARGUMENT');
      expect(await s.readStream(id)).toEqual([]);
    }
    for (const id of [' a', 'a b', 'ünï-cödé', '订单-1', 'emoji-😀']) await s.append(id, [{ type: 'x' }]);
    expect((await s.stats()).eventCount).toBe(5);
  });

  it("names the type of a rejected value: expectedVersion '1' is a string, not 1", async () => {
    const s = await openStore(tempDir(), engine);
    const cases: [() => unknown, string][] = [
      [() => s.append('a', [{ type: 'x' }], { expectedVersion: '1' as never }), 'got the string "1"'],
      [() => s.append('a', [{ type: 'x' }], { expectedVersion: 1.5 }), 'got the number 1.5'],
      [() => s.append('a', [{ type: 'x' }], { expectedVersion: null as never }), 'got null'],
      [() => s.readStream('a', { limit: '10' as never }), 'got the string "10"'],
      [() => s.readEvent('a', '2' as never), 'got the string "2"'],
      [() => s.append('a', [{ type: 7 as never }]), 'got the number 7'],
      [() => s.append(5 as never, [{ type: 'x' }]), 'got the number 5'],
      [() => s.append('a', [{ type: 'x' }], { commandId: ['c'] as never }), 'got an array of 1'],
      [() => EventStore.open(tempDir(), { chunkSize: '1048576' as never }), 'got the string "1048576"'],
      [() => EventStore.open(tempDir(), { readOnly: 'yes' as never }), 'got the string "yes"'],
    ];
    for (const [call, text] of cases) {
      const err = await refusal(call);
      expect(err.code, text).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain(text);
    }
  });
});
