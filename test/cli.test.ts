import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventStore } from '../lib/index.js';
import { collect, tempDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'lib', 'cli', 'main.ts');

function annals(args: string[], input?: string | Buffer) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function seed(dir: string): Promise<void> {
  const s = await EventStore.open(dir, { chunkSize: 1 << 20, indexMemtableEntries: 40 });
  for (let i = 0; i < 60; i++) {
    await s.append(
      `s-${i % 3}`,
      [
        { type: 'T', data: { i } },
        { type: 'B', data: new Uint8Array([i, 255]) },
      ],
      { commandId: `c-${i}` },
    );
  }
  await s.close();
}

describe('annals command', () => {
  it('has --help for every command and fails with a one-line reason', () => {
    for (const cmd of ['serve', 'stats', 'verify', 'rebuild-index', 'backup', 'export', 'import', 'bench']) {
      const r = annals([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout).toContain(`Usage: annals ${cmd}`);
    }
    const missing = annals(['stats', path.join(tempDir(), 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^annals: NOT_A_STORE: no store at .*nope: no such directory\n$/);
    expect(annals(['frobnicate']).code).not.toBe(0);
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    for (const flag of ['--version', '-v']) expect(annals([flag]).stdout).toBe(`${version}\n`);
  });

  it('stats, verify (clean and damaged), rebuild-index', async () => {
    const dir = tempDir();
    await seed(dir);
    const stats = annals(['stats', dir]);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ eventCount: 120, streamCount: 3, commandCount: 60 });
    const ok = annals(['verify', dir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('ok: no fault found');
    const rebuilt = annals(['rebuild-index', dir]);
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stdout).toMatch(/rebuilt: \d+ stream and \d+ command segments for 120 events/);
    expect(annals(['verify', dir]).code).toBe(0);
    const chunk = path.join(dir, 'chunks', '00000000.chunk');
    const fd = fs.openSync(chunk, 'r+');
    fs.writeSync(fd, Buffer.from([0x42]), 0, 1, 200);
    fs.closeSync(fd);
    const bad = annals(['verify', dir, '--json']);
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout);
    expect(report.ok).toBe(false);
    expect(report.faults[0]).toMatchObject({ file: chunk, problem: 'damaged record' });
  });

  // One damaged record in the range the index replays at open made stats, rebuild-index and export
  // refuse the whole store; now they reach everything intact, and export --salvage gets it out.
  it('stats, rebuild-index and export --salvage reach a store with a damaged record', async () => {
    const dir = tempDir();
    await seed(dir);
    fs.rmSync(path.join(dir, 'index'), { recursive: true });
    const chunk = path.join(dir, 'chunks', '00000000.chunk');
    const fd = fs.openSync(chunk, 'r+');
    fs.writeSync(fd, Buffer.from([0x42]), 0, 1, 200);
    fs.closeSync(fd);
    const stats = annals(['stats', dir]);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout).recovery.damaged).toHaveLength(1);
    const plain = annals(['export', dir]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('CORRUPTION');
    const salvaged = annals(['export', dir, '--salvage']);
    expect(salvaged.code).toBe(0);
    expect(salvaged.stdout.trim().split('\n')).toHaveLength(119);
    expect(salvaged.stderr).toMatch(/skipped the damaged record at position \d+/);
    expect(salvaged.stderr).toContain('exported 119 events, skipped 1 damaged records');
    expect(annals(['export', dir, '--salvage', '--stream', 's-1']).code).toBe(1);
    const rebuilt = annals(['rebuild-index', dir]);
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stdout).toContain('for 119 events');
  });

  it('export then import keeps versions, command ids and bytes, and a second import is a no-op', async () => {
    const src = tempDir();
    await seed(src);
    const out = annals(['export', src]);
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(120);
    expect(annals(['export', src, '--stream', 's-1']).stdout.trim().split('\n')).toHaveLength(40);
    const resumed = annals(['export', src, '--after', String(JSON.parse(lines[49] as string).position)]);
    expect(resumed.stdout.trim().split('\n')).toEqual(lines.slice(50));
    const dst = tempDir();
    const half = `${lines.slice(0, 50).join('\n')}\n`;
    expect(annals(['import', dst], half).code).toBe(0);
    const full = annals(['import', dst], out.stdout); // resumes: the first 50 are skipped
    expect(full.code).toBe(0);
    expect(full.stderr).toContain('imported 70 events, skipped');
    expect(annals(['import', dst], out.stdout).stderr).toContain('imported 0 events');
    const s = await EventStore.open(dst, { readOnly: true });
    const events = await s.readStream('s-2');
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(events[1]?.data).toEqual(new Uint8Array([2, 255]));
    expect((await s.readCommand('c-5'))?.map((e) => e.type)).toEqual(['T', 'B']);
    await s.close();
    expect(annals(['import', tempDir()], 'not json\n').code).toBe(1);
  });

  it('serve answers the HTTP API and the Stream Browser page, and stops on SIGTERM', async () => {
    const dir = tempDir();
    const flags = ['--token', 'T', '--max-page-size', '5', '--max-subscribers', '3'];
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', dir, '--port', '0', ...flags], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /at (http:\/\/\S+?)\/ /.exec(out);
        if (m) resolve(m[1] as string);
      });
      child.on('exit', () => reject(new Error(`serve exited: ${out}`)));
    });
    const res = await fetch(`${url}/api/streams/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer T' },
      body: '{"events":[{"type":"Hi"}]}',
    });
    expect(res.status).toBe(201);
    expect((await fetch(`${url}/api/all`)).status).toBe(401);
    expect((await fetch(`${url}/api/all?limit=5&token=T`)).status).toBe(200);
    expect((await fetch(`${url}/api/all?limit=6&token=T`)).status).toBe(400);
    expect((await fetch(`${url}/`)).status).toBe(401);
    const page = await fetch(`${url}/?token=T`);
    expect(await page.text()).toContain('Stream Browser');
    expect((await fetch(`${url}/ui/app.js`)).headers.get('content-type')).toContain('javascript');
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
    for (const bad of [
      ['--max-subscribers', 'x'],
      ['--max-page-size', '0'],
      ['--token', ''],
    ]) {
      const r = annals(['serve', dir, '--port', '0', ...bad]);
      expect(r.code, bad.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n'), bad.join(' ')).toHaveLength(1);
    }
  });
});

/** `annals` run asynchronously, for commands that run beside another process. */
function annalsAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `annals serve`; resolves with the child and what it printed once it listens. */
function startServe(args: string[]): Promise<{ child: ReturnType<typeof spawn>; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d;
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      if (/\(\w+ engine\)\n/.test(out)) setTimeout(() => resolve({ child, out, err }), 50);
    });
    child.on('exit', () => reject(new Error(`serve exited: ${out}${err}`)));
  });
}

describe('annals command: keeping its promises', () => {
  it('rebuild-index takes the writer lock first: a store another process holds is refused unchanged', async () => {
    const dir = tempDir();
    await seed(dir);
    const held = await EventStore.open(dir);
    const indexBefore = fs.readdirSync(path.join(dir, 'index')).sort();
    expect(indexBefore.length).toBeGreaterThan(0);
    const r = annals(['rebuild-index', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^annals: STORE_LOCKED: /);
    expect(fs.readdirSync(path.join(dir, 'index')).sort()).toEqual(indexBefore);
    expect((await held.stats()).eventCount).toBe(120);
    await held.close();
    expect(annals(['rebuild-index', dir]).code).toBe(0);
  });

  it('import and serve leave no store directory behind when they fail', async () => {
    const base = tempDir();
    const fresh = path.join(base, 'new', 'store');
    const badLine = annals(['import', fresh], 'not json\n');
    expect(badLine.code).toBe(1);
    expect(badLine.stderr).toContain('INVALID_ARGUMENT: line 1: not JSON');
    expect(fs.existsSync(path.join(base, 'new'))).toBe(false);
    const good = '{"streamId":"s","version":1,"type":"T"}\n{"streamId":"t","version":1,"type":"T"}\n';
    const partial = annals(['import', fresh], `${good}not json\n`);
    expect(partial.code).toBe(1);
    expect(partial.stderr).toContain('imported 1 events before the failure');
    expect(fs.existsSync(fresh)).toBe(true);
    fs.rmSync(path.join(base, 'new'), { recursive: true });
    for (const bad of [
      ['--max-page-size', '0'],
      ['--port', '99999'],
      ['--engine', 'rust'],
      ['--host', 'no-such-host.invalid'],
    ]) {
      const r = annals(['serve', fresh, ...bad]);
      expect(r.code, bad.join(' ')).toBe(1);
      expect(r.stderr, bad.join(' ')).toMatch(/^annals: [A-Z_]+: /);
      expect(fs.existsSync(path.join(base, 'new')), bad.join(' ')).toBe(false);
    }
    // A port already taken: the store was opened, the listen fails, the directory goes again.
    const { child, out } = await startServe([path.join(base, 'first'), '--port', '0']);
    const port = /:(\d+)\/ /.exec(out)?.[1] as string;
    const taken = annals(['serve', fresh, '--port', port]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^annals: IO: cannot serve on 127\.0\.0\.1 port \d+: .*EADDRINUSE/);
    expect(fs.existsSync(path.join(base, 'new'))).toBe(false);
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  });

  it('serve on a non-loopback address warns and prints the real address; with --token the page needs it too', async () => {
    const dir = tempDir();
    const { child, out, err } = await startServe([dir, '--port', '0', '--host', '0.0.0.0', '--token', 'T']);
    try {
      expect(err).toMatch(/^annals: warning: 0\.0\.0\.0 is not a loopback address/);
      const port = /0\.0\.0\.0:(\d+)\/ /.exec(out)?.[1];
      expect(port).toMatch(/^\d+$/);
      const base = `http://127.0.0.1:${port}`;
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(401);
      expect(await page.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
      expect(await (await fetch(`${base}/?token=T`)).text()).toContain('Stream Browser');
      expect((await fetch(`${base}/ui/app.js`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
    }
    const quiet = await startServe([dir, '--port', '0']);
    expect(quiet.err).toBe('');
    expect(quiet.out).toMatch(/at http:\/\/127\.0\.0\.1:\d+\/ /);
    quiet.child.kill('SIGTERM');
    await new Promise((r) => quiet.child.on('exit', r));
  });

  it('backup copies a store another process keeps appending to: the copy opens and holds a prefix of it', async () => {
    const dir = tempDir();
    await seed(dir);
    const writerScript = path.join(tempDir(), 'writer.mts');
    fs.writeFileSync(
      writerScript,
      `import { EventStore } from ${JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))};
      const store = await EventStore.open(process.argv[2], { chunkSize: 1 << 20, indexMemtableEntries: 100 });
      let stop = false;
      process.on('SIGTERM', () => { stop = true; });
      for (let i = 0; !stop; i++) {
        await store.append('w-' + (i % 5), Array.from({ length: 1 + (i % 3) }, () => ({ type: 'W', data: { i, pad: 'z'.repeat(500) } })), { commandId: 'w-' + i });
        if (i === 300) console.log('ready');
      }
      await store.close();`,
    );
    const writer = spawn(process.execPath, ['--import', 'tsx', writerScript, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => writer.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    const target = path.join(tempDir(), 'copy');
    const r = await annalsAsync(['backup', dir, target]);
    writer.kill('SIGTERM');
    expect(await new Promise((res) => writer.on('exit', res))).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backed up \d+ events \(the log up to position \d+\) to .*copy: \d+ chunks, \d+ index segments, 0 snapshots/);
    expect(annals(['verify', target]).code).toBe(0);
    const source = await EventStore.open(dir, { readOnly: true });
    const copy = await EventStore.open(target);
    const all = await collect(source.readAll());
    const held = await collect(copy.readAll());
    expect(held.length).toBeGreaterThan(120 + 300);
    expect(held.length).toBeLessThan(all.length);
    expect(held.map((e) => [e.position, e.id, e.commandId, e.data])).toEqual(
      all.slice(0, held.length).map((e) => [e.position, e.id, e.commandId, e.data]),
    );
    for (const c of new Set(held.map((e) => e.commandId))) {
      expect(held.filter((e) => e.commandId === c).length, String(c)).toBe(all.filter((e) => e.commandId === c).length);
    }
    await copy.append('after', [{ type: 'T' }]);
    await copy.close();
    await source.close();
    const refused = annals(['backup', dir, target]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^annals: INVALID_ARGUMENT: .*not empty/);
  });
});
