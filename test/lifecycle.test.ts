import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnnalsError, DiskFullError, EventStore } from '../lib/index.js';
import { collect, ENGINES, MiB, openStore, tempDir } from './helpers.js';

function engineOf(s: EventStore): { flush: () => Promise<void> } {
  // biome-ignore lint/suspicious/noExplicitAny: the test replaces the engine's flush
  return (s as any).engine;
}

describe.each(ENGINES)('lifecycle (%s engine)', (engine) => {
  it('a failed flush is fatal: the append and every later write reject with it, reads go on', async () => {
    const s = await openStore(tempDir(), engine);
    await s.append('a', [{ type: 'ok' }]);
    engineOf(s).flush = () => Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    const err = await s.append('a', [{ type: 'lost' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnnalsError);
    expect(err).toMatchObject({ fatal: true });
    await expect(s.append('b', [{ type: 'x' }])).rejects.toBe(err);
    await expect(s.saveSnapshot('a', 1, {})).rejects.toBe(err);
    await expect(s.flush()).rejects.toBe(err);
    expect((await s.readStream('a')).map((e) => e.type)).toEqual(['ok']);
    expect(await s.streamVersion('a')).toBe(1);
  });

  it('in sync mode readers and subscribers see an append only once its flush is done', async () => {
    const s = await openStore(tempDir(), engine);
    await s.append('a', [{ type: 'first' }]);
    const e = engineOf(s);
    const real = e.flush.bind(e);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    e.flush = async () => {
      await gate;
      await real();
    };
    const seen: string[] = [];
    const sub = s.subscribe();
    const done = (async () => {
      for await (const ev of sub) {
        seen.push(ev.type);
        if (seen.length === 2) break;
      }
    })();
    const pending = s.append('a', [{ type: 'second' }]);
    await new Promise((r) => setTimeout(r, 20));
    expect(await s.streamVersion('a')).toBe(1);
    expect((await s.readStream('a')).length).toBe(1);
    expect((await collect(s.readAll())).length).toBe(1);
    expect(seen).toEqual(['first']);
    release();
    await pending;
    await done;
    expect(seen).toEqual(['first', 'second']);
    expect(await s.streamVersion('a')).toBe(2);
  });

  it('limits.maxDiskBytes stops the log from growing past it, with DISK_FULL', async () => {
    const s = await openStore(tempDir(), engine, { limits: { maxDiskBytes: 2 * MiB } });
    const big = new Uint8Array(400_000);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await s.append('a', [{ type: 'b', data: big }]).catch((e: unknown) => e));
    const failures = results.filter((r) => r instanceof DiskFullError);
    expect(failures.length).toBeGreaterThan(0);
    expect((await s.stats()).chunkCount).toBe(2);
    expect((await s.readStream('a')).length).toBe(6 - failures.length);
  });

  it('a read-only store beside the writer sees what was there at open and refuses writes', async () => {
    const dir = tempDir();
    const w = await openStore(dir, engine);
    await w.append('a', [{ type: 'x' }]);
    await w.flush();
    const r = await openStore(dir, engine, { readOnly: true });
    expect(await r.streamVersion('a')).toBe(1);
    await expect(r.append('a', [{ type: 'x' }])).rejects.toMatchObject({ code: 'READ_ONLY' });
    await expect(r.saveSnapshot('a', 1, {})).rejects.toMatchObject({ code: 'READ_ONLY' });
    await w.append('a', [{ type: 'y' }]);
    expect(await w.streamVersion('a')).toBe(2);
    expect(await r.streamVersion('a')).toBe(1);
  });

  it('reopens with the chunk size the store was created with, refusing a different explicit one', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, { chunkSize: 2 * MiB });
    await s.append('a', [{ type: 'x' }]);
    await s.close();
    const adopted = await EventStore.open(dir, { engine });
    expect(await adopted.streamVersion('a')).toBe(1);
    await adopted.close();
    await expect(EventStore.open(dir, { engine, chunkSize: MiB })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('holds a bounded number of descriptors however many chunks the store has', async () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const dir = tempDir();
    const s = await openStore(dir, engine);
    for (let i = 0; i < 40; i++) await s.append('big', [{ type: 'b', data: new Uint8Array(700_000) }]);
    await s.close();
    const before = fds();
    const t = await openStore(dir, engine);
    expect((await t.stats()).chunkCount).toBe(40);
    expect((await collect(t.readAll())).length).toBe(40);
    for (let v = 40; v >= 1; v -= 3) expect((await t.readEvent('big', v))?.version).toBe(v);
    expect(fds() - before).toBeLessThanOrEqual(24);
  });

  it('an open, idle store does not keep the process alive, and an unawaited append is stored when the script ends', () => {
    // The native engine settles flushes through a thread-safe function, which must hold the event
    // loop open only while a flush is pending: a script that never closes its store would
    // otherwise hang (checked: without the release after the last pending flush this times out).
    const dir = tempDir();
    const lib = path.join(import.meta.dirname, '..', 'lib', 'index.ts');
    const script = `
      const { EventStore } = await import(${JSON.stringify(lib)});
      const s = await EventStore.open(${JSON.stringify(dir)}, { engine: ${JSON.stringify(engine)} });
      await s.append('a', [{ type: 'T' }]);
      void s.append('a', [{ type: 'U' }], { commandId: 'last' }); // neither awaited nor closed
    `;
    const t = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(Date.now() - t).toBeLessThan(20_000);
    const check = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `
        const { EventStore } = await import(${JSON.stringify(lib)});
        const s = await EventStore.open(${JSON.stringify(dir)}, { engine: ${JSON.stringify(engine)}, readOnly: true });
        console.log(JSON.stringify((await s.readStream('a')).map((e) => e.type)));
        await s.close();
      `,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(check.status, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout.trim())).toEqual(['T', 'U']);
  });

  it('stats never trips over segment files being built, renamed and merged', async () => {
    const s = await openStore(tempDir(), engine, { indexMemtableEntries: 4, maxIndexSegments: 2 });
    for (let i = 0; i < 150; i++) {
      const append = s.append(`s-${i % 5}`, [{ type: 'x' }], { commandId: `c-${i}` });
      await Promise.all([append, s.stats(), s.stats()]);
    }
    expect((await s.stats()).eventCount).toBe(150);
  });

  it('stats count events, streams, commands, chunks and bytes', async () => {
    const s = await openStore(tempDir(), engine, { indexMemtableEntries: 10 });
    for (let i = 0; i < 12; i++) await s.append(`s-${i % 4}`, [{ type: 'x' }, { type: 'y' }], { commandId: `c-${i}` });
    await s.append('s-0', [{ type: 'z' }]);
    const st = await s.stats();
    expect(st).toMatchObject({ engine, eventCount: 25, streamCount: 4, commandCount: 12, chunkCount: 1, durability: 'sync' });
    expect(st.bytesOnDisk).toBeGreaterThan(0);
    expect(st.endPosition).toBeGreaterThan(64);
    expect(st.index.latestVersionEntries).toBe(4);
    expect(st.index.recentCommandEntries).toBe(12);
  });
});
