// The package's `install` step. It never fails the install: the JS engine reads and writes the
// same format, so a machine without a fitting binary still gets a working store.
//
// 1. A binary that loads (a local build, or the prebuild for this platform, musl told apart as
//    lib/native.ts does) ends it: the usual case, no compiler touched.
// 2. Otherwise, where a compiler and Python are on PATH, it builds from source with node-gyp
//    (npm's own, or the project's) and keeps the result if it loads.
// 3. Otherwise, or when that build fails, it says so in one line and exits 0; at run time the
//    store warns once (ANNALS_JS_FALLBACK) and the JS engine serves.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const platform = `${process.platform}-${process.arch}`;

function isMusl() {
  if (process.platform !== 'linux') return false;
  if (process.env.LIBC) return process.env.LIBC === 'musl';
  return !process.report?.getReport()?.header?.glibcVersionRuntime;
}

/** Undefined when the binary node-gyp-build (or the musl prebuild) resolves to loads; else why not. */
function loadError() {
  try {
    const musl = path.join(root, 'prebuilds', `linux-${process.arch}`, 'annals.napi.musl.node');
    const local = path.join(root, 'build', 'Release', 'annals.node');
    const file = isMusl() && !fs.existsSync(local) && fs.existsSync(musl) ? musl : require('node-gyp-build').resolve(root);
    require(file);
    return undefined;
  } catch (err) {
    return String(err?.message ?? err).split('\n')[0];
  }
}

function onPath(names) {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of names) {
      for (const ext of exts) if (dir && fs.existsSync(path.join(dir, name + ext))) return true;
    }
  }
  return false;
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp && fs.existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

/** Why the source build cannot run here, or undefined when it can. */
function sourceBuildBlocker() {
  if (process.env.ANNALS_SKIP_SOURCE_BUILD === '1') return 'skipped by ANNALS_SKIP_SOURCE_BUILD=1';
  if (!onPath(['python3', 'python'])) return 'no Python on PATH';
  if (process.platform !== 'win32' && !onPath(['c++', 'g++', 'clang++'])) return 'no C++ compiler on PATH';
  if (process.platform !== 'win32' && !onPath(['make'])) return 'no make on PATH';
  if (!nodeGyp()) return 'no node-gyp';
  return undefined;
}

function main() {
  const first = loadError();
  if (!first) return;
  const blocker = sourceBuildBlocker();
  let outcome;
  if (blocker) {
    outcome = `the source build cannot run (${blocker})`;
  } else {
    const r = spawnSync(process.execPath, [nodeGyp(), 'rebuild'], { cwd: root, stdio: 'inherit', timeout: 15 * 60_000 });
    const after = r.status === 0 ? loadError() : 'node-gyp failed';
    if (!after) return;
    outcome = `the source build did not give a loadable binary (${after})`;
  }
  const libc = process.platform === 'linux' ? (isMusl() ? ' musl' : ' glibc') : '';
  console.warn(
    `annals: no prebuilt native binary loads on ${platform}${libc} (${first}) and ${outcome}; ` +
      'the JS engine will serve (the same on-disk format).',
  );
}

try {
  main();
} catch (err) {
  console.warn(`annals: install step skipped (${err?.message ?? err}); the JS engine will serve where no native binary loads`);
}
process.exitCode = 0;
