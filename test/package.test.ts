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
