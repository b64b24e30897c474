/**
 * Index keys are 48-bit hashes, so two ids may share one. Here every id starting with "clash-"
 * hashes to the same key (key-hash mocked for this file), and the store must still answer each id
 * exactly: the recent-command set, memtables and segments only ever give candidates, checked
 * against the records.
 */
import { describe, expect, it, vi } from 'vitest';
import { indexClock } from '../lib/index/index-clock.js';
import { DuplicateCommandError } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

vi.mock('../lib/format/key-hash.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../lib/format/key-hash.js')>();
  return { ...real, keyOf: (s: string) => (s.startsWith('clash-') ? { hi: 7, lo: 7 } : real.keyOf(s)) };
});

describe.each(ENGINES)('ids whose keys collide (%s engine)', (engine) => {
  it('reads, de-duplicates and separates commands and streams that share a key, before and after a reopen', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine);
    await s.append('clash-stream-a', [{ type: 'A1' }], { commandId: 'clash-cmd-1' });
    await s.append('clash-stream-b', [{ type: 'B1' }, { type: 'B2' }], { commandId: 'clash-cmd-2' });
    await s.append('clash-stream-a', [{ type: 'A2' }], { commandId: 'clash-cmd-3' });
    const check = async () => {
      expect((await s.readCommand('clash-cmd-1'))?.map((e) => e.type)).toEqual(['A1']);
      expect((await s.readCommand('clash-cmd-2'))?.map((e) => e.type)).toEqual(['B1', 'B2']);
      expect((await s.readCommand('clash-cmd-3'))?.map((e) => e.type)).toEqual(['A2']);
      expect(await s.readCommand('clash-cmd-9')).toBeUndefined();
      expect((await s.readStream('clash-stream-a')).map((e) => e.type)).toEqual(['A1', 'A2']);
      expect((await s.readStream('clash-stream-b')).map((e) => e.type)).toEqual(['B1', 'B2']);
      expect((await s.readEvent('clash-stream-b', 2))?.type).toBe('B2');
      expect(await s.readEvent('clash-stream-a', 3)).toBeUndefined();
    };
    await check();
    await s.close();
    // After a reopen the recent-command set is empty: a new command's entry there now points at
    // its own event, and the older commands under the same key must still be found behind it.
    s = await openStore(dir, engine);
    await s.append('clash-stream-c', [{ type: 'C1' }], { commandId: 'clash-cmd-4' });
    await check();
    expect((await s.readCommand('clash-cmd-4'))?.map((e) => e.type)).toEqual(['C1']);
    const dup = await s.append('clash-stream-a', [{ type: 'again' }], { commandId: 'clash-cmd-1' }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(DuplicateCommandError);
    expect((dup as DuplicateCommandError).original).toMatchObject({ streamId: 'clash-stream-a', firstVersion: 1, lastVersion: 1 });
    const dup4 = await s.append('clash-stream-a', [{ type: 'again' }], { commandId: 'clash-cmd-4' }).catch((e: unknown) => e);
    expect((dup4 as DuplicateCommandError).original).toMatchObject({ streamId: 'clash-stream-c', firstVersion: 1 });
    expect((await s.readStream('clash-stream-a')).length).toBe(2);
  });

  it('refuses a retry of a colliding command added seconds after the first, once the recent set dropped their key', async () => {
    // Regression: the recent-command set kept a key added again (here another id of the same key)
    // in the bucket of its first add, so once that bucket was dropped the set claimed the key absent
    // since just after it, and the lookup skipped the memtable holding the second command.
    const real = indexClock.now;
    let skew = 0;
    indexClock.now = () => real.call(indexClock) + skew;
    try {
      const s = await openStore(tempDir(), engine, { maxRecentCommands: 16, indexMemtableEntries: 40 });
      await s.append('a', [{ type: 'A' }], { commandId: 'clash-first' });
      skew += 5000;
      for (let i = 0; i < 12; i++) await s.append(`f-${i}`, [{ type: 'F' }], { commandId: `fill-${i}` });
      await s.append('b', [{ type: 'B' }], { commandId: 'clash-second' });
      for (let i = 12; i < 16; i++) await s.append(`f-${i}`, [{ type: 'F' }], { commandId: `fill-${i}` });
      for (const id of ['clash-second', 'clash-first']) {
        await expect(s.append('c', [{ type: 'C' }], { commandId: id }), id).rejects.toBeInstanceOf(DuplicateCommandError);
      }
      expect(await s.readStream('c')).toEqual([]);
      expect((await s.readCommand('clash-second'))?.map((e) => e.streamId)).toEqual(['b']);
      await s.close();
    } finally {
      indexClock.now = real;
    }
  });
});
