import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type NativeAddon, nativeAddon } from '../lib/native.js';
import { tempDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The seven binaries the package ships (scripts/prebuild-all.mjs), as node-gyp-build names them. */
const PREBUILDS = [
  'prebuilds/linux-x64/annals.napi.glibc.node',
  'prebuilds/linux-x64/annals.napi.musl.node',
  'prebuilds/linux-arm64/annals.napi.glibc.node',
  'prebuilds/linux-arm64/annals.napi.musl.node',
  'prebuilds/darwin-x64/annals.napi.node',
  'prebuilds/darwin-arm64/annals.napi.node',
  'prebuilds/win32-x64/annals.napi.node',
];

const CHECK_ESM = `
  import { EventStore } from 'annals';
  const store = await EventStore.open('./data', { chunkSize: 1 << 20 });
  await store.append('s', [{ type: 'T', data: { ok: true } }]);
  const [e] = await store.readStream('s');
  console.log(JSON.stringify({ engine: store.engineName, data: e.data }));
  await store.close();`;

const CHECK_CJS = `
  const { EventStore } = require('annals');
  (async () => {
    const store = await EventStore.open('./data-cjs', { chunkSize: 1 << 20 });
    await store.append('s', [{ type: 'T', data: { ok: true } }]);
    const [e] = await store.readStream('s');
    console.log(JSON.stringify({ engine: store.engineName, data: e.data }));
    await store.close();
  })();`;

/** A scavenge from the installed package: its chunk passes run in dist/scavenge-worker.js. */
const CHECK_SCAVENGE = `
  import { EventStore } from 'annals';
  const store = await EventStore.open('./data-scavenge', { chunkSize: 1 << 20 });
  const pad = 'p'.repeat(4000);
  for (let i = 0; i < 600; i++) await store.append(i % 2 ? 'kept' : 'gone', [{ type: 'T', data: { i, pad } }]);
  await store.deleteStream('gone');
  const report = await store.scavenge();
  console.log(JSON.stringify({ removed: report.eventsRemoved > 200, kept: (await store.readStream('kept')).length }));
  await store.close();`;

/** annals/emmett from the installed package, as an ES module and through require(). */
const CHECK_EMMETT = (load: string) => `
  ${load}
  (async () => {
    const s = getAnnalsEventStore({ directory: './data-emmett-' + process.argv[2] });
    const r = await s.appendToStream('cart', [{ type: 'T', data: { n: 1n } }]);
    const { events } = await s.readStream('cart');
    console.log(JSON.stringify({ version: String(r.nextExpectedStreamVersion), data: events[0].data }));
    await s.close();
  })();`;

/** Packs the package from a copy (prepack compiles dist/ and checks prebuilds/), as a publish would. */
function packTarball(out: string): { tarball: string; files: string[] } {
  const src = tempDir();
  fs.cpSync(ROOT, src, {
    recursive: true,
    // Top-level build outputs and tools stay behind (build-tools/ holds zig).
    filter: (f) => !/^(node_modules|build|build-[^/\\]*|dist|\.git)$/.test(path.relative(ROOT, f)),
  });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));
  const prepack = spawnSync(npm, ['run', 'prepack'], { cwd: src, encoding: 'utf8' });
  if (prepack.status !== 0) throw new Error(`npm run prepack failed:\n${prepack.stdout}${prepack.stderr}`);
  const packed = JSON.parse(
    execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: src, encoding: 'utf8' }),
  ) as { filename: string; files: { path: string }[] }[];
  const info = packed[0]!;
  return { tarball: path.join(out, info.filename), files: info.files.map((f) => f.path) };
}

function newApp(): string {
  const app = tempDir();
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module' }));
  fs.writeFileSync(path.join(app, 'check.mjs'), CHECK_ESM);
  fs.writeFileSync(path.join(app, 'check.cjs'), CHECK_CJS);
  return app;
}

/** A PATH holding node, npm and the shell npm runs scripts with, and nothing else: no compiler,
 * no Python, no make. */
function bareToolsPath(): string {
  const bin = tempDir();
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  const npmCli = path.join(path.dirname(process.execPath), 'npm');
  fs.symlinkSync(fs.realpathSync(npmCli), path.join(bin, 'npm'));
  return bin;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

describe.skipIf(process.platform !== 'linux' || process.arch !== 'x64')('packaging', () => {
  // Packed once for both tests, into a directory of its own (helpers' tempDir is emptied after
  // each test).
  let packed: { tarball: string; files: string[] } | undefined;
  let out: string | undefined;
  const tarball = () => {
    out ??= fs.mkdtempSync(path.join(os.tmpdir(), 'annals-pack-'));
    packed ??= packTarball(out);
    return packed;
  };
  afterAll(() => {
    if (out) fs.rmSync(out, { recursive: true, force: true });
  });

  it.skipIf(!nativeAddon() && !process.env.CI)(
    'the packed tarball holds all seven binaries, installs with no build step, and loads native for import and require',
    { timeout: 300_000 },
    async () => {
      const { tarball: file, files } = tarball();
      expect(files).toContain('dist/index.js');
      expect(files).toContain('dist/index.d.ts');
      expect(files).toContain('cjs/index.cjs');
      expect(files).toContain('cjs/index.d.cts');
      expect(files).toContain('scripts/install.mjs');
      for (const p of PREBUILDS) expect(files).toContain(p);
      expect(files.some((f) => f.startsWith('build/'))).toBe(false);
      expect(files.some((f) => f.startsWith('test/'))).toBe(false);

      const app = newApp();
      // --ignore-scripts: nothing may compile; the shipped prebuild must be what loads.
      execFileSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', file], { cwd: app, stdio: 'ignore' });
      expect(fs.existsSync(path.join(app, 'node_modules', 'annals', 'build'))).toBe(false);
      for (const script of ['check.mjs', 'check.cjs']) {
        const result = JSON.parse(execFileSync(process.execPath, [script], { cwd: app, encoding: 'utf8' }));
        expect(result).toEqual({ engine: 'native', data: { ok: true } });
      }
      expect(files).toContain('dist/scavenge-worker.js');
      expect(files).toContain('dist/index/segment-worker.js');
      fs.writeFileSync(path.join(app, 'scavenge.mjs'), CHECK_SCAVENGE);
      expect(JSON.parse(execFileSync(process.execPath, ['scavenge.mjs'], { cwd: app, encoding: 'utf8' }))).toEqual({
        removed: true,
        kept: 300,
      });

      // annals/emmett, with Emmett beside it (this repository's copy, linked: nothing downloaded).
      for (const f of ['dist/emmett/index.js', 'dist/emmett/index.d.ts', 'cjs/emmett.cjs', 'cjs/emmett.d.cts']) expect(files).toContain(f);
      fs.mkdirSync(path.join(app, 'node_modules', '@event-driven-io'), { recursive: true });
      fs.symlinkSync(
        path.join(ROOT, 'node_modules', '@event-driven-io', 'emmett'),
        path.join(app, 'node_modules', '@event-driven-io', 'emmett'),
      );
      fs.writeFileSync(path.join(app, 'emmett.mjs'), CHECK_EMMETT("import { getAnnalsEventStore } from 'annals/emmett';"));
      fs.writeFileSync(path.join(app, 'emmett.cjs'), CHECK_EMMETT("const { getAnnalsEventStore } = require('annals/emmett');"));
      for (const script of ['emmett.mjs', 'emmett.cjs']) {
        const out = execFileSync(process.execPath, [script, script], { cwd: app, encoding: 'utf8' });
        expect(JSON.parse(out)).toEqual({ version: '1', data: { n: '1' } });
      }

      expect(files).toContain('LICENSE');
      const manifest = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'annals', 'package.json'), 'utf8'));
      expect(manifest).toMatchObject({ license: 'MIT', repository: { type: 'git' }, homepage: expect.any(String) });
      expect(manifest.keywords).toContain('event-store');
      // The library's import loads no server or command-line module, ESM or CommonJS.
      fs.writeFileSync(
        path.join(app, 'trace-hooks.mjs'),
        `import fs from 'node:fs';
        export async function load(url, context, next) { fs.appendFileSync(process.env.TRACE, url + '\\n'); return next(url, context); }`,
      );
      fs.writeFileSync(
        path.join(app, 'footprint.mjs'),
        `import { register, createRequire } from 'node:module';
        register('./trace-hooks.mjs', import.meta.url);
        await import('annals');
        console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`,
      );
      const trace = path.join(app, 'trace.txt');
      const cjs = JSON.parse(
        execFileSync(process.execPath, ['footprint.mjs'], { cwd: app, encoding: 'utf8', env: { ...process.env, TRACE: trace } }),
      );
      const loaded = [...fs.readFileSync(trace, 'utf8').trim().split('\n'), ...cjs];
      expect(loaded.some((u: string) => u.includes('/node_modules/annals/dist/index.js'))).toBe(true);
      expect(loaded.filter((u: string) => /\/(fastify|@fastify|commander|cli-progress)\/|\/annals\/dist\/(server|cli)\//.test(u))).toEqual(
        [],
      );
      // The installed command: --version, and no bench (its suite is not in the package).
      const bin = path.join(app, 'node_modules', '.bin', 'annals');
      const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
      expect(execFileSync(bin, ['--version'], { encoding: 'utf8' })).toBe(`${version}\n`);
      const help = execFileSync(bin, ['--help'], { encoding: 'utf8' });
      expect(help).toContain('backup <dir> <target>');
      expect(help).not.toContain('bench');
      expect(() => execFileSync(bin, ['bench'], { stdio: 'pipe' })).toThrow(/unknown command 'bench'/);
      const stats = JSON.parse(execFileSync(bin, ['stats', path.join(app, 'data')], { encoding: 'utf8' }));
      expect(stats.eventCount).toBe(1);
    },
  );

  it.skipIf(!nativeAddon() && !process.env.CI)(
    'with no compiler, no Python and no matching prebuild, the install succeeds and the JS engine serves',
    { timeout: 300_000 },
    async () => {
      // The same tarball without the binaries of this platform: unpacked, trimmed, packed again.
      const unpacked = tempDir();
      execFileSync('tar', ['xzf', tarball().tarball, '-C', unpacked]);
      fs.rmSync(path.join(unpacked, 'package', 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true });
      const trimmed = path.join(tempDir(), 'annals-trimmed.tgz');
      execFileSync('tar', ['czf', trimmed, '-C', unpacked, 'package']);

      const app = newApp();
      const env: NodeJS.ProcessEnv = { ...process.env, PATH: bareToolsPath() };
      for (const key of Object.keys(env)) if (/^npm_/i.test(key)) delete env[key];
      // Install scripts on: the package's install step runs (where npm's policy lets it) and must
      // not fail the install.
      const install = run('npm', ['install', '--foreground-scripts', '--no-audit', '--no-fund', trimmed], app, env);
      expect(install.status, `${install.stdout}${install.stderr}`.slice(-3000)).toBe(0);
      const output = `${install.stdout}${install.stderr}`;
      if (output.includes('node scripts/install.mjs')) expect(output).toContain('the JS engine will serve');
      // And the step itself, run as npm would: it finds no binary, cannot build, says so, exits 0.
      const step = run(process.execPath, [path.join('node_modules', 'annals', 'scripts', 'install.mjs')], app, env);
      expect(step.status).toBe(0);
      expect(step.stderr).toMatch(
        /no prebuilt native binary loads on linux-x64 glibc .*the source build cannot run \(no Python on PATH\); the JS engine will serve/,
      );
      expect(fs.existsSync(path.join(app, 'node_modules', 'annals', 'build'))).toBe(false);

      const check = run(process.execPath, ['check.mjs'], app, env);
      expect(check.status, check.stderr).toBe(0);
      expect(JSON.parse(check.stdout)).toEqual({ engine: 'js', data: { ok: true } });
      expect(check.stderr).toContain('ANNALS_JS_FALLBACK');
    },
  );
});

describe('cmake-js build', () => {
  it.skipIf(!nativeAddon() && !process.env.CI)(
    'builds the addon from the same source list with no download, and it works',
    { timeout: 300_000 },
    async () => {
      const out = tempDir();
      execFileSync(path.join(ROOT, 'node_modules', '.bin', 'cmake-js'), ['compile', '--out', out], { cwd: ROOT, stdio: 'ignore' });
      const require = createRequire(import.meta.url);
      const addon = require(path.join(out, 'Release', 'annals.node')) as NativeAddon;
      expect(addon.crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
      expect(typeof addon.NativeLog).toBe('function');
      const gyp = fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8');
      expect(gyp).toContain('native/sources.txt');
    },
  );
});
