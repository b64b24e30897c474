import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type NativeAddon, nativeAddon } from '../lib/native.js';
import { tempDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('packaging', () => {
  it.skipIf(!nativeAddon() && !process.env.CI)(
    'the packed tarball installs with no build step and loads the native engine from prebuilds/',
    { timeout: 300_000 },
    async () => {
      const out = tempDir();
      // Pack from a copy, so prebuildify's compile never touches the build/ other tests load from.
      const src = tempDir();
      fs.cpSync(ROOT, src, {
        recursive: true,
        filter: (f) => !/[/\\](node_modules|build|build-native|dist|prebuilds|\.git)$/.test(f),
      });
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));
      // prepack compiles dist/ and runs prebuildify, exactly as a publish would.
      execFileSync(npm, ['run', 'prepack'], { cwd: src, stdio: 'ignore' });
      const packed = JSON.parse(
        execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: src, encoding: 'utf8' }),
      ) as {
        filename: string;
        files: { path: string }[];
      }[];
      const info = packed[0]!;
      const files = info.files.map((f) => f.path);
      expect(files).toContain('dist/index.js');
      expect(files).toContain('dist/index.d.ts');
      expect(files.some((f) => /^prebuilds\/linux-x64\/.+\.node$/.test(f))).toBe(true);
      expect(files.some((f) => f.startsWith('build/'))).toBe(false);
      expect(files.some((f) => f.startsWith('test/'))).toBe(false);

      const app = tempDir();
      fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module' }));
      // --ignore-scripts: nothing may compile; the shipped prebuild must be what loads.
      execFileSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', path.join(out, info.filename)], {
        cwd: app,
        stdio: 'ignore',
      });
      expect(fs.existsSync(path.join(app, 'node_modules', 'annals', 'build'))).toBe(false);
      const script = `
        import { EventStore } from 'annals';
        const store = await EventStore.open('./data', { engine: 'native', chunkSize: 1 << 20 });
        await store.append('s', [{ type: 'T', data: { ok: true } }]);
        const [e] = await store.readStream('s');
        console.log(JSON.stringify({ engine: store.engineName, data: e.data }));
        await store.close();`;
      fs.writeFileSync(path.join(app, 'check.mjs'), script);
      const result = JSON.parse(execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8' }));
      expect(result).toEqual({ engine: 'native', data: { ok: true } });

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
