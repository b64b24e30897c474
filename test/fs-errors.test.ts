import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnnalsError, EventStore, verifyStore } from '../lib/index.js';
import { ENGINES, MiB, tempDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'lib', 'cli', 'main.ts');
/** Root reads and writes anything: the permission cases run as `nobody` there. */
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

async function refusal(p: () => Promise<unknown>): Promise<AnnalsError> {
  try {
    await p();
  } catch (err) {
    expect(err).toBeInstanceOf(AnnalsError);
    return err as AnnalsError;
  }
  throw new Error('not refused');
}

/** A directory `nobody` (or this user) can enter, with a store in `store` when `seeded`. */
async function place(seeded: boolean): Promise<{ base: string; store: string }> {
  const base = tempDir();
  fs.chmodSync(base, 0o755);
  const store = path.join(base, 'store');
  if (seeded) {
    const s = await EventStore.open(store, { chunkSize: MiB });
    await s.append('a', [{ type: 'T' }]);
    await s.close();
    for (const f of [store, ...fs.readdirSync(store, { recursive: true }).map((n) => path.join(store, n as string))]) {
      fs.chmodSync(f, fs.statSync(f).isDirectory() ? 0o755 : 0o644);
    }
  }
  return { base, store };
}

/** Opens `dir` in a process without the permissions root has; the error it got, as JSON. */
function openElsewhere(dir: string, options: object): { code?: string; message?: string; ok?: true } {
  const scripts = tempDir();
  fs.chmodSync(scripts, 0o755);
  const script = path.join(scripts, 'open.mts');
  fs.writeFileSync(
    script,
    `import { EventStore } from ${JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))};
    try { const s = await EventStore.open(process.argv[2], JSON.parse(process.argv[3])); await s.close(); console.log('{"ok":true}'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`,
  );
  fs.chmodSync(script, 0o644);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, dir, JSON.stringify(options)], {
    encoding: 'utf8',
    cwd: ROOT,
    ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (!line.startsWith('{')) throw new Error(`no answer from the child: ${r.stdout}${r.stderr}`);
  return JSON.parse(line);
}

describe.each(ENGINES)('file-system failures at open (%s engine)', (engine) => {
  it('a file, a path through a file, a missing or empty directory: NOT_A_STORE naming the path, nothing created', async () => {
    const base = tempDir();
    const file = path.join(base, 'file');
    fs.writeFileSync(file, 'not a store');
    for (const readOnly of [false, true]) {
      const onFile = await refusal(() => EventStore.open(file, { engine, readOnly }));
      expect(onFile.code).toBe('NOT_A_STORE');
      expect(onFile.message).toContain(file);
      expect(onFile.message).toContain('is a file');
      const through = await refusal(() => EventStore.open(path.join(file, 'sub'), { engine, readOnly }));
      expect(through.code).toBe('NOT_A_STORE');
      expect(through.message).toContain(path.join(file, 'sub'));
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('not a store');
    const missing = path.join(base, 'missing');
    const ro = await refusal(() => EventStore.open(missing, { engine, readOnly: true }));
    expect(ro.code).toBe('NOT_A_STORE');
    expect(ro.message).toContain(`no store at ${missing}: no such directory`);
    expect(fs.existsSync(missing)).toBe(false);
    const empty = path.join(base, 'empty');
    fs.mkdirSync(empty);
    expect((await refusal(() => EventStore.open(empty, { engine, readOnly: true }))).code).toBe('NOT_A_STORE');
    expect(fs.readdirSync(empty)).toEqual([]);
    const chunksFile = path.join(base, 'odd');
    fs.mkdirSync(chunksFile);
    fs.writeFileSync(path.join(chunksFile, 'chunks'), '');
    const odd = await refusal(() => EventStore.open(chunksFile, { engine }));
    expect(odd.code).toBe('NOT_A_STORE');
    expect(odd.message).toContain(path.join(chunksFile, 'chunks'));
    expect(() => verifyStore(missing)).toThrow(expect.objectContaining({ code: 'NOT_A_STORE' }));
    expect(() => verifyStore(file)).toThrow(expect.objectContaining({ code: 'NOT_A_STORE' }));
  });

  it('a directory the process may not read or write: PERMISSION_DENIED naming the path and the cause', { timeout: 60_000 }, async () => {
    // A store directory nobody else may enter.
    const closed = await place(true);
    fs.chmodSync(closed.store, 0o700);
    for (const readOnly of [false, true]) {
      const r = openElsewhere(closed.store, { engine, readOnly });
      expect(r.code, `readOnly ${readOnly}`).toBe('PERMISSION_DENIED');
      expect(r.message).toContain(closed.store);
      expect(r.message).toMatch(/permission denied/i);
    }
    // A chunk file it may not read: the engine's own open of it is refused with the same code.
    const chunk = await place(true);
    fs.chmodSync(path.join(chunk.store, 'chunks', '00000000.chunk'), 0o600);
    const r = openElsewhere(chunk.store, { engine, readOnly: true });
    expect(r.code).toBe('PERMISSION_DENIED');
    expect(r.message).toContain('00000000.chunk');
    // A store it may read but not write: read-only works, a writable open is refused.
    const readable = await place(true);
    expect(openElsewhere(readable.store, { engine, readOnly: true })).toEqual({ ok: true });
    const w = openElsewhere(readable.store, { engine });
    expect(w.code).toBe('PERMISSION_DENIED');
    expect(w.message).toContain(readable.store);
    // A new store where it may not create a directory: refused, nothing created.
    const parent = await place(false);
    const fresh = openElsewhere(path.join(parent.store, 'new'), { engine });
    expect(fresh.code).toBe('PERMISSION_DENIED');
    expect(fresh.message).toContain(path.join(parent.store, 'new'));
    expect(fs.existsSync(parent.store)).toBe(false);
  });
});

describe('file-system failures in the command line', () => {
  it('stats and verify on a directory it may not read say PERMISSION_DENIED, not "no store"', async () => {
    const { store } = await place(true);
    fs.chmodSync(store, 0o700);
    for (const cmd of ['stats', 'verify', 'export']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, cmd, store], {
        encoding: 'utf8',
        cwd: ROOT,
        ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
      });
      expect(r.status, cmd).toBe(1);
      expect(r.stderr, cmd).toMatch(/^annals: PERMISSION_DENIED: .*permission denied/i);
      expect(r.stderr, cmd).toContain(store);
      expect(r.stderr.trim().split('\n'), cmd).toHaveLength(1);
    }
    // A store it may list but one of whose chunk files it may not read.
    const partly = await place(true);
    const chunk = path.join(partly.store, 'chunks', '00000000.chunk');
    fs.chmodSync(chunk, 0o600);
    for (const cmd of ['verify', 'stats', 'backup']) {
      const args = cmd === 'backup' ? [partly.store, path.join(partly.base, 'copy')] : [partly.store];
      const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, cmd, ...args], {
        encoding: 'utf8',
        cwd: ROOT,
        ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
      });
      expect(r.status, cmd).toBe(1);
      expect(r.stderr, cmd).toMatch(/^annals: PERMISSION_DENIED: .*00000000\.chunk/);
    }
  });
});
