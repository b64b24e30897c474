import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENGINES, openStore, tempDir } from './helpers.js';

/** The paths fsync'd through node:fs while `body` runs (the JS side creates the directories). */
async function syncedDirectories(body: () => Promise<void>): Promise<string[]> {
  const paths = new Map<number, string>();
  const synced: string[] = [];
  const open = fs.openSync;
  vi.spyOn(fs, 'openSync').mockImplementation((...args: Parameters<typeof fs.openSync>) => {
    const fd = open(...args);
    paths.set(fd, path.resolve(String(args[0])));
    return fd;
  });
  const fsync = fs.fsyncSync;
  vi.spyOn(fs, 'fsyncSync').mockImplementation((fd: number) => {
    const p = paths.get(fd);
    if (p && fs.statSync(p).isDirectory()) synced.push(p);
    fsync(fd);
  });
  await body();
  return synced;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(ENGINES)('directory durability (%s engine)', (engine) => {
  // A new directory entry survives a power cut only once its parent is synced: without that, a
  // store created on a file system without a journal's ordering could vanish whole.
  it.skipIf(process.platform === 'win32')('syncs the parent of every directory the store creates', async () => {
    const root = tempDir();
    const dir = path.join(root, 'a', 'store');
    const synced = await syncedDirectories(async () => {
      const s = await openStore(dir, engine);
      await s.aggregate('s-1', { initialState: 0, evolve: (n: number) => n + 1, snapshotEvery: 1 });
      await s.append('s-1', [{ type: 't', data: {} }]);
      await s.aggregate('s-1', { initialState: 0, evolve: (n: number) => n + 1, snapshotEvery: 1 });
      await s.close();
    });
    const created = [path.join(root, 'a'), dir, path.join(dir, 'chunks'), path.join(dir, 'index')];
    const snapshotDirs = fs.readdirSync(path.join(dir, 'snapshots')).map((d) => path.join(dir, 'snapshots', d));
    expect(snapshotDirs.length).toBeGreaterThan(0);
    for (const d of [...created, path.join(dir, 'snapshots'), ...snapshotDirs]) {
      expect(synced, `the parent of ${d}`).toContain(path.dirname(d));
    }
  });
});
