// `npm run prebuild:all`: builds the addon for every platform the package ships a binary for, on
// this Linux machine, with zig as the cross toolchain (scripts/build-tools.mjs fetches it), into
// prebuilds/<platform>-<arch>/ under the names node-gyp-build resolves. Writes
// prebuilds/manifest.json: the hash of the sources and flags they were built from (CI and prepack
// refuse binaries older than the sources: scripts/check-prebuilds.mjs) and each file's sha256.
//
//   node scripts/prebuild-all.mjs [target ...]   (targets by name, e.g. win32-x64; default: all)
//
// Linux binaries are built against glibc 2.17, so they load on every long-term distribution still
// in use; the musl ones serve Alpine. libc++ is linked statically and its symbols kept local, so
// no C++ runtime of the host matters. The Windows one imports Node-API through a delay-load
// library (native/win_delay_load.cc says why), made from node-api-headers' def by binutils'
// x86_64-w64-mingw32-dlltool (Debian's binutils-mingw-w64-x86-64).
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT, TOOLS_DIR, toolPath } from './build-tools.mjs';

const require = createRequire(import.meta.url);

export const TARGETS = [
  { name: 'linux-x64', file: 'annals.napi.glibc.node', zig: 'x86_64-linux-gnu.2.17' },
  { name: 'linux-arm64', file: 'annals.napi.glibc.node', zig: 'aarch64-linux-gnu.2.17' },
  { name: 'linux-x64-musl', file: 'annals.napi.musl.node', zig: 'x86_64-linux-musl', dir: 'linux-x64' },
  { name: 'linux-arm64-musl', file: 'annals.napi.musl.node', zig: 'aarch64-linux-musl', dir: 'linux-arm64' },
  { name: 'darwin-x64', file: 'annals.napi.node', zig: 'x86_64-macos.11.0' },
  { name: 'darwin-arm64', file: 'annals.napi.node', zig: 'aarch64-macos.11.0' },
  { name: 'win32-x64', file: 'annals.napi.node', zig: 'x86_64-windows-gnu' },
];

export const COMMON_FLAGS = [
  '-std=c++17',
  '-O2',
  '-fexceptions',
  '-fvisibility=hidden',
  '-mcpu=baseline',
  '-DNAPI_VERSION=8',
  '-DNODE_ADDON_API_DISABLE_DEPRECATED',
  '-shared',
];

// The symbols Node looks up in an addon; everything else stays local to the binary.
const VERSION_SCRIPT = 'native/exports.map';

/** Flags of one target beyond COMMON_FLAGS (what differs by object format). */
export function targetFlags(target) {
  // ELF: only the module's entry points are exported (the version script); libc++ stays private.
  if (target.zig.includes('linux')) return ['-fPIC', '-s', '-Wl,-z,noexecstack', `-Wl,--version-script=${VERSION_SCRIPT}`];
  // Mach-O: Node-API is resolved in the host at load time (`-bundle` writes an empty file here).
  // The install name is the file's own, not the build machine's path to it.
  if (target.zig.includes('macos')) return ['-Wl,-undefined,dynamic_lookup', `-Wl,-install_name,@rpath/${target.file}`];
  return ['-s'];
}

export function sourceFiles() {
  const listed = fs.readFileSync(path.join(ROOT, 'native/sources.txt'), 'utf8').trim().split(/\s+/);
  return [...listed, 'native/win_delay_load.cc'];
}

/** sha256 over every native source and header, the source list and the flags. */
export function sourceHash() {
  const hash = crypto.createHash('sha256');
  const files = fs
    .readdirSync(path.join(ROOT, 'native'))
    .filter((f) => /\.(cc|h)$/.test(f) || f === 'sources.txt' || f === 'exports.map')
    .sort();
  for (const f of files) {
    hash.update(`${f}\0`);
    hash.update(fs.readFileSync(path.join(ROOT, 'native', f), 'utf8').replace(/\r\n/g, '\n'));
  }
  hash.update(JSON.stringify({ COMMON_FLAGS, targets: TARGETS.map((t) => [t, targetFlags(t)]) }));
  return hash.digest('hex');
}

function windowsDelayLibrary(work) {
  if (spawnSync('x86_64-w64-mingw32-dlltool', ['--version']).status !== 0) {
    throw new Error('win32-x64 needs x86_64-w64-mingw32-dlltool: apt-get install binutils-mingw-w64-x86-64');
  }
  const def = path.join(path.dirname(require.resolve('node-api-headers/package.json')), 'def', 'node_api.def');
  // Run where it writes, by a relative name: dlltool names the descriptor symbol after the output
  // path, and native/win_delay_load.cc refers to __DELAY_IMPORT_DESCRIPTOR_node_api_delay_a.
  execFileSync('x86_64-w64-mingw32-dlltool', ['-d', def, '-y', 'node_api_delay.a'], { cwd: work, stdio: 'inherit' });
  return path.join(work, 'node_api_delay.a');
}

function build(zig, target, work) {
  const headers = path.join(path.dirname(require.resolve('node-api-headers/package.json')), 'include');
  const addonApi = path.dirname(require.resolve('node-addon-api/package.json'));
  const sources = sourceFiles().filter((f) => target.zig.includes('windows') || !f.includes('win_delay_load'));
  const out = path.join(work, target.name, target.file);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const args = ['c++', '-target', target.zig, ...COMMON_FLAGS, ...targetFlags(target), `-I${headers}`, `-I${addonApi}`];
  args.push(...sources.map((s) => path.join(ROOT, s)));
  if (target.zig.includes('windows')) args.push(windowsDelayLibrary(work), '-lkernel32');
  args.push('-o', out);
  const started = Date.now();
  execFileSync(zig, args, {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, ZIG_GLOBAL_CACHE_DIR: path.join(TOOLS_DIR, 'zig-cache'), ZIG_LOCAL_CACHE_DIR: path.join(work, 'zig-local') },
  });
  const dest = path.join(ROOT, 'prebuilds', target.dir ?? target.name, target.file);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(out, dest);
  console.log(
    `${target.name}: ${path.relative(ROOT, dest)} (${fs.statSync(dest).size} bytes, ${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
  return dest;
}

function main() {
  const wanted = process.argv.slice(2);
  const targets = wanted.length ? TARGETS.filter((t) => wanted.includes(t.name)) : TARGETS;
  if (targets.length !== (wanted.length || TARGETS.length)) {
    throw new Error(`unknown target among ${wanted.join(', ')}; known: ${TARGETS.map((t) => t.name).join(', ')}`);
  }
  const zig = toolPath('zig');
  const work = path.join(ROOT, 'build-prebuilds');
  fs.mkdirSync(work, { recursive: true });
  const manifestPath = path.join(ROOT, 'prebuilds', 'manifest.json');
  const manifest = fs.existsSync(manifestPath) ? JSON.parse(fs.readFileSync(manifestPath, 'utf8')) : { files: {} };
  const hash = sourceHash();
  // A partial rebuild keeps the other entries only when they were built from the same sources.
  if (manifest.sourceHash !== hash) manifest.files = {};
  for (const target of targets) {
    const dest = build(zig, target, work);
    const rel = path.relative(path.join(ROOT, 'prebuilds'), dest).split(path.sep).join('/');
    manifest.files[rel] = {
      target: target.zig,
      sha256: crypto.createHash('sha256').update(fs.readFileSync(dest)).digest('hex'),
    };
  }
  manifest.sourceHash = hash;
  manifest.zig = execFileSync(zig, ['version'], { encoding: 'utf8' }).trim();
  manifest.files = Object.fromEntries(Object.entries(manifest.files).sort(([a], [b]) => a.localeCompare(b)));
  fs.writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  try {
    main();
  } catch (err) {
    console.error(`prebuild failed: ${err.message.split('\n')[0]}`);
    process.exit(1);
  }
}
