/** The contract of reads: stream ranges in both directions, single events, the global log. */
import { expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { collect, type Harness } from './harness.js';

export function readTests(h: Harness): void {
  it('reads ranges, backwards, single events and the global log', async () => {
    const s = await h.create();
    for (let i = 1; i <= 10; i++) await s.append(i % 2 ? 'odd' : 'even', [{ type: 't', data: i }]);
    expect((await s.readStream('odd', { fromVersion: 2, limit: 2 })).map((e) => e.data)).toEqual([3, 5]);
    expect((await s.readStream('odd', { direction: 'backward' })).map((e) => e.data)).toEqual([9, 7, 5, 3, 1]);
    expect((await s.readStream('odd', { direction: 'backward', fromVersion: 2 })).map((e) => e.data)).toEqual([3, 1]);
    expect((await s.readStream('odd', { direction: 'backward', limit: 2 })).map((e) => e.data)).toEqual([9, 7]);
    expect(await s.readStream('odd', { limit: 0 })).toEqual([]);
    expect((await s.readEvent('even', 3))?.data).toBe(6);
    expect(await s.readEvent('even', 6)).toBeUndefined();
    expect(await s.readEvent('even', 0)).toBeUndefined();
    const all = await collect(s.readAll());
    expect(all.map((e) => e.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const after = await collect(s.readAll({ after: all[6]!.position, limit: 2 }));
    expect(after.map((e) => e.data)).toEqual([8, 9]);
    expect(await collect(s.readAll({ after: all[9]!.position }))).toEqual([]);
    await expect(collect(s.readAll({ after: all[9]!.position + 1 }))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(collect(s.readAll({ after: -1 }))).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('reads the global log in pages as long as it is, in append order', async () => {
    const s = await h.create();
    for (let b = 0; b < 12; b++) {
      await s.appendMany(Array.from({ length: 100 }, (_, k) => ({ streamId: `p-${k % 7}`, events: [{ type: 't', data: b * 100 + k }] })));
    }
    const all = await collect(s.readAll());
    expect(all.map((e) => e.data)).toEqual(Array.from({ length: 1200 }, (_, i) => i));
    expect((await collect(s.readAll({ limit: 1100 }))).length).toBe(1100);
  });

  it('lists the streams written most recently, newest first, with their versions', async () => {
    const s = await h.create();
    await s.append('r-1', [{ type: 't' }]);
    await s.append('r-2', [{ type: 't' }, { type: 't' }]);
    await s.append('r-1', [{ type: 't' }]);
    expect(await s.recentStreams(10)).toEqual([
      { streamId: 'r-1', version: 2 },
      { streamId: 'r-2', version: 2 },
    ]);
    expect(await s.recentStreams(1)).toEqual([{ streamId: 'r-1', version: 2 }]);
  });

  it('gives back random JSON, bytes and absent payloads exactly through every read of many events', async () => {
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
    const s = await h.create();
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
    const asStored = (v: unknown) => (v instanceof Uint8Array || v === undefined ? v : JSON.parse(JSON.stringify(v)));
    const expected = written.map((w) => ({ data: asStored(w.data), metadata: asStored(w.metadata) }));
    expect((await collect(s.readAll())).map(shape)).toEqual(expected);
    for (let k = 0; k < 3; k++) {
      expect((await s.readStream(`r-${k}`)).map(shape)).toEqual(expected.filter((_, i) => written[i]?.stream === `r-${k}`));
    }
    expect((await s.readCommand('rc-4'))?.map(shape)).toEqual(expected.slice(commandStart[4], commandStart[5]));
    const seen: unknown[] = [];
    for await (const e of s.subscribe({})) {
      seen.push(shape(e));
      if (seen.length === expected.length) break;
    }
    expect(seen).toEqual(expected);
  });
}
