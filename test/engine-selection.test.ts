import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventStore, LimitExceededError } from '../lib/index.js';
import { nativeAddon } from '../lib/native.js';
import { ENGINES, MiB, openStore, tempDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');

describe('engine selection', () => {
  it('falls back to the JS engine with one warning giving the reason, and refuses an explicit native', () => {
    const dir = tempDir();
    const script = `
      import { EventStore } from ${JSON.stringify(path.join(ROOT, 'lib/index.ts'))};
      const a = await EventStore.open(${JSON.stringify(path.join(dir, 'a'))});
      const b = await EventStore.open(${JSON.stringify(path.join(dir, 'b'))});
      console.log(a.engineName, b.engineName);
      await EventStore.open(${JSON.stringify(path.join(dir, 'c'))}, { engine: 'native' }).catch((e) => console.log(e.code, e.message));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, ANNALS_DISABLE_NATIVE: '1' },
      encoding: 'utf8',
    });
    const out = child.stdout;
    const warnings = child.stderr.split('\n').filter((l) => l.includes('ANNALS_JS_FALLBACK'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('native addon unavailable (disabled by ANNALS_DISABLE_NATIVE=1)');
    const [engines, refusal] = out.trim().split('\n');
    expect(engines).toBe('js js');
    expect(refusal).toMatch(/^ENGINE_UNAVAILABLE the native engine cannot load: disabled by ANNALS_DISABLE_NATIVE=1/);
  });

  it.skipIf(!nativeAddon())('uses the native engine by default when the addon loads', async () => {
    const s = await EventStore.open(tempDir(), { chunkSize: MiB });
    expect(s.engineName).toBe('native');
    await s.close();
  });
});

describe.each(ENGINES)('size limits (%s engine)', (engine) => {
  it('accepts an event of exactly maxEventBytes and refuses one byte more', async () => {
    const s = await openStore(tempDir(), engine, { limits: { maxEventBytes: 4096, maxEventTypeBytes: 4, maxStreamIdBytes: 3 } });
    // Frame overhead: 16 header + 17 fixed body + length varints (stream id, type, event id: 1 byte
    // each; data: 2) + stream id + type + event id.
    const overhead = 16 + 17 + 5 + 3 + 4 + 2;
    const fits = new Uint8Array(4096 - overhead);
    await s.append('abc', [{ type: 'abcd', id: 'id', data: fits }]);
    await expect(s.append('abc', [{ type: 'abcd', id: 'id', data: new Uint8Array(fits.length + 1) }])).rejects.toBeInstanceOf(
      LimitExceededError,
    );
    await expect(s.append('abc', [{ type: 'abcde' }])).rejects.toBeInstanceOf(LimitExceededError);
    await expect(s.append('abcd', [{ type: 'a' }])).rejects.toBeInstanceOf(LimitExceededError);
    await s.append('abc', [{ type: 'a€' }]);
    expect((await s.readEvent('abc', 1))?.data).toEqual(fits);
    expect((await s.readEvent('abc', 2))?.type).toBe('a€');
  });
});
