// The shipped binaries (prebuilds/, built by `npm run prebuild:all`) are checked without running
// them: each of the seven is there, is the file the manifest records, was built from the native
// sources as they are now, and has the format, architecture, imports and exports its platform
// needs (scripts/check-prebuilds.mjs says what each check is). The ones this machine can run are
// also run: test/foreign.test.ts.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const tools = ['objdump', 'llvm-objdump'].every((t) => spawnSync(t, ['--version']).status === 0);

describe.skipIf(process.platform !== 'linux' || (!tools && !process.env.CI))('prebuilt binaries', () => {
  it('all seven are present, current with the native sources, and of the right format, arch and imports', () => {
    const r = spawnSync(process.execPath, ['scripts/check-prebuilds.mjs', '--fresh'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout.match(/^ok {3}/gm)?.length).toBe(7);
  });
});
