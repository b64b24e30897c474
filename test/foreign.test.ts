// The binaries of other platforms, run here from the packed package (scripts/foreign-tests.mjs):
// linux-arm64 under qemu, win32-x64 under Wine (also in a host not named node.exe), each through
// the API subset of test/foreign/smoke.mjs with the native engine loaded, then one store carried
// linux-x64 -> linux-arm64 -> win32-x64 -> linux-x64. The binaries that cannot run here (macOS,
// musl) are checked for format, architecture and imports (scripts/check-prebuilds.mjs).
//
// Needs qemu-user-static, libc6-arm64-cross, libstdc++6-arm64-cross and wine64 (.ci/run installs
// them); without them these tests are skipped, except under CI, where they fail.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script without types
import { arm64Blocker, runSmoke, stageApp, windowsBlocker } from '../scripts/foreign-tests.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';
const arm64 = (arm64Blocker as () => string | undefined)();
const windows = (windowsBlocker as () => string | undefined)();
const skipArm64 = !onLinuxX64 || (!!arm64 && !process.env.CI);
const skipWindows = !onLinuxX64 || (!!windows && !process.env.CI);

type Smoke = (app: string, host: string, mode: string, args: string[]) => { ok: boolean; report: string };

/** The report without its tally line (the CI tally reads such lines from the log). */
function explain(report: string): string {
  return report.replace(/^\d+ passed, \d+ failed$/m, '');
}

describe.skipIf(skipArm64 && skipWindows)('foreign platforms', () => {
  let app = '';
  let work = '';
  const smoke = (host: string, mode: string, args: string[]) => {
    const { ok, report } = (runSmoke as Smoke)(app, host, mode, args);
    expect(ok, explain(report)).toBe(true);
    return report;
  };

  beforeAll(() => {
    if (arm64 && process.env.CI) throw new Error(`linux-arm64 cannot run here: ${arm64}`);
    if (windows && process.env.CI) throw new Error(`win32-x64 cannot run here: ${windows}`);
    if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js')) || process.env.CI) {
      execFileSync('npm', ['run', 'compile'], { cwd: ROOT, stdio: 'ignore' });
    }
    // Not helpers' tempDir: that is emptied after each test, and the app serves them all.
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-foreign-'));
    app = (stageApp as (w: string) => { app: string })(work).app;
  }, 300_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it.skipIf(skipArm64)('linux-arm64 under qemu: the API subset passes with the native engine', { timeout: 900_000 }, () => {
    smoke('linux-arm64', 'api', [path.join(work, 'arm64')]);
  });

  it.skipIf(skipWindows)('win32-x64 under Wine: the API subset passes with the native engine', { timeout: 900_000 }, () => {
    smoke('win32-x64', 'api', [path.join(work, 'win32')]);
  });

  it.skipIf(skipWindows)(
    'win32-x64 under Wine in a host renamed annals-host.exe: the addon still loads and works',
    { timeout: 900_000 },
    () => {
      smoke('win32-x64 (host renamed annals-host.exe)', 'api', [path.join(work, 'win32-renamed')]);
    },
  );

  it.skipIf(skipArm64 || skipWindows)(
    'a store written on linux-x64 opens, reads and appends on linux-arm64 and win32-x64, and back on linux-x64',
    { timeout: 900_000 },
    () => {
      const store = path.join(work, 'carried');
      const chain = ['linux-x64', 'linux-arm64', 'win32-x64', 'linux-x64'];
      chain.forEach((host, i) => {
        const report = smoke(host, 'carry', [store, `${host}-${i}`]);
        if (i === chain.length - 1) expect(report).toContain('earlier platforms: linux-x64-0, linux-arm64-1, win32-x64-2');
      });
    },
  );
});
