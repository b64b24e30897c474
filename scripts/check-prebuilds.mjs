// Checks the seven shipped binaries under prebuilds/ without running them: each is there, is the
// file prebuilds/manifest.json recorded (sha256), and is of the right format and architecture,
// with the imports and exports the platform needs:
//   ELF (Linux): glibc symbol versions no newer than 2.17 and no libstdc++ (objdump -T), the
//     libraries it needs (objdump -p: the musl ones need musl's libc.so and nothing of glibc),
//     and only the module's entry points exported;
//   Mach-O (macOS): 64-bit, the CPU type, a dynamic library that leaves Node-API to the host
//     (undefined _napi_* symbols, no library but libSystem), the minimum macOS version;
//   PE (Windows): x86-64 DLL exporting napi_register_module_v1, importing only system DLLs, with
//     NODE.EXE only as a delay-load import (native/win_delay_load.cc).
// `--fresh` also requires the manifest's source hash to be that of the current native sources
// (prepack and CI: a binary older than the code it ships beside is refused).
//
//   node scripts/check-prebuilds.mjs [--fresh]     prints one line per binary; exit 1 on a failure
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './build-tools.mjs';
import { sourceHash, TARGETS } from './prebuild-all.mjs';

const GLIBC_BASELINE = [2, 17];
const GLIBC_LIBS = new Set([
  'libc.so.6',
  'libm.so.6',
  'libpthread.so.0',
  'libdl.so.2',
  'librt.so.1',
  'ld-linux-x86-64.so.2',
  'ld-linux-aarch64.so.1',
]);
const WINDOWS_SYSTEM_DLL = /^(kernel32|ntdll|msvcrt|advapi32|user32|ws2_32|bcrypt|api-ms-win-[a-z0-9-]+)\.dll$/i;
const ENTRY_POINTS = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

function checkElf(buf, file, target) {
  const problems = [];
  const machine = buf.readUInt16LE(18);
  const wantMachine = target.zig.startsWith('aarch64') ? 0xb7 : 0x3e;
  if (buf[4] !== 2 || machine !== wantMachine)
    problems.push(`ELF class ${buf[4]} machine 0x${machine.toString(16)}, want 64-bit 0x${wantMachine.toString(16)}`);
  if (buf.readUInt16LE(16) !== 3) problems.push('not a shared object');
  const dyn = run('objdump', ['-T', file]);
  const versions = [...dyn.matchAll(/\bGLIBC_(\d+)\.(\d+)(?:\.\d+)?\b/g)].map((m) => [Number(m[1]), Number(m[2])]);
  const newest = versions.reduce((a, v) => (v[0] > a[0] || (v[0] === a[0] && v[1] > a[1]) ? v : a), [0, 0]);
  const musl = target.zig.endsWith('musl');
  if (musl && versions.length) problems.push('glibc symbol versions in a musl binary');
  if (newest[0] > GLIBC_BASELINE[0] || (newest[0] === GLIBC_BASELINE[0] && newest[1] > GLIBC_BASELINE[1])) {
    problems.push(`needs GLIBC_${newest.join('.')} (baseline ${GLIBC_BASELINE.join('.')})`);
  }
  if (/GLIBCXX|CXXABI/.test(dyn)) problems.push('depends on libstdc++');
  const exported = dyn
    .split('\n')
    .filter((l) => /\s(DF|DO)\s/.test(l) && !/\*UND\*/.test(l))
    .map((l) => l.trim().split(/\s+/).pop());
  const extra = exported.filter((s) => !ENTRY_POINTS.includes(s));
  if (!exported.includes('napi_register_module_v1')) problems.push('does not export napi_register_module_v1');
  if (extra.length) problems.push(`exports more than the entry points: ${extra.slice(0, 5).join(', ')}`);
  const needed = [...run('objdump', ['-p', file]).matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1]);
  if (musl) {
    if (!needed.some((n) => /^libc\.so$|^ld-musl/.test(n))) problems.push(`links musl statically (NEEDED: ${needed.join(', ') || 'none'})`);
    if (needed.some((n) => GLIBC_LIBS.has(n) && n !== 'libc.so')) problems.push(`needs glibc libraries: ${needed.join(', ')}`);
  } else if (needed.some((n) => !GLIBC_LIBS.has(n))) {
    problems.push(`needs libraries beyond glibc: ${needed.join(', ')}`);
  }
  const summary = `ELF ${target.zig.split('-')[0]}, ${musl ? 'musl' : `GLIBC <= ${newest.join('.')}`}, NEEDED ${needed.join(' ')}`;
  return { problems, summary };
}

function checkMachO(buf, file, target) {
  const problems = [];
  const arm = target.zig.startsWith('aarch64');
  const wantCpu = arm ? 0x0100000c : 0x01000007;
  if (buf.readUInt32LE(0) !== 0xfeedfacf) problems.push('not a 64-bit Mach-O file');
  if (buf.readUInt32LE(4) !== wantCpu) problems.push(`CPU type 0x${buf.readUInt32LE(4).toString(16)}, want 0x${wantCpu.toString(16)}`);
  if (![6, 8].includes(buf.readUInt32LE(12))) problems.push(`file type ${buf.readUInt32LE(12)}, want a dylib or bundle`);
  const id = run('llvm-objdump', ['--macho', '--dylib-id', file]).split('\n')[1]?.trim();
  if (id !== `@rpath/${target.file}`) problems.push(`install name ${id}`);
  const dylibs = run('llvm-objdump', ['--macho', '--dylibs-used', file])
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(' ')[0])
    .filter((d) => d && d !== id);
  if (dylibs.some((d) => d !== '/usr/lib/libSystem.B.dylib')) problems.push(`links ${dylibs.join(', ')}`);
  const headers = run('llvm-objdump', ['--macho', '--private-headers', file]);
  const minos = /minos (\S+)/.exec(headers)?.[1] ?? /version (\S+)/.exec(headers.slice(headers.indexOf('LC_VERSION_MIN_MACOSX')))?.[1];
  const wantMin = '11.0';
  if (minos !== wantMin) problems.push(`minimum macOS ${minos}, want ${wantMin}`);
  const symbols = run('llvm-objdump', ['--macho', '--syms', file]);
  if (!/\b_napi_register_module_v1\b/.test(symbols)) problems.push('no _napi_register_module_v1');
  if (!/\*UND\*\s+_napi_create_function\b/.test(symbols)) problems.push('does not leave Node-API to the host');
  return { problems, summary: `Mach-O ${arm ? 'arm64' : 'x86_64'}, macOS >= ${minos}, links ${dylibs.join(' ')}` };
}

function checkPe(buf, file) {
  const problems = [];
  const pe = buf.readUInt32LE(0x3c);
  if (buf.toString('latin1', 0, 2) !== 'MZ' || buf.toString('latin1', pe, pe + 4) !== 'PE\0\0') problems.push('not a PE file');
  if (buf.readUInt16LE(pe + 4) !== 0x8664) problems.push(`machine 0x${buf.readUInt16LE(pe + 4).toString(16)}, want x86-64`);
  if ((buf.readUInt16LE(pe + 22) & 0x2000) === 0) problems.push('not a DLL');
  const headers = run('llvm-objdump', ['-p', file]);
  const imports = [...headers.matchAll(/^\s*DLL Name: (\S+)/gm)].map((m) => m[1]);
  const foreign = imports.filter((d) => !WINDOWS_SYSTEM_DLL.test(d));
  if (foreign.length) problems.push(`imports ${foreign.join(', ')} directly`);
  // lld records no delay-import directory for dlltool's delay library: its descriptor is plain
  // data naming NODE.EXE, with the Node-API names beside it.
  if (!buf.includes('NODE.EXE') || !buf.includes('napi_create_function')) problems.push('no delay-load import of NODE.EXE');
  if (!/napi_register_module_v1/.test(headers.split('Export Table')[1] ?? '')) problems.push('does not export napi_register_module_v1');
  return { problems, summary: `PE x86-64 DLL, imports ${imports.join(' ')}, delay-loads NODE.EXE` };
}

function main() {
  const fresh = process.argv.includes('--fresh');
  const manifestPath = path.join(ROOT, 'prebuilds', 'manifest.json');
  let failed = 0;
  const fail = (msg) => {
    failed++;
    console.log(`FAIL ${msg}`);
  };
  if (!fs.existsSync(manifestPath)) {
    fail('prebuilds/manifest.json is missing: run `npm run prebuild:all`');
    process.exit(1);
  }
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  if (fresh && manifest.sourceHash !== sourceHash()) {
    fail('prebuilds/ were built from other native sources than these: run `npm run prebuild:all` and commit prebuilds/');
  }
  for (const target of TARGETS) {
    const rel = `${target.dir ?? target.name}/${target.file}`;
    const file = path.join(ROOT, 'prebuilds', rel);
    if (!fs.existsSync(file)) {
      fail(`${rel}: missing`);
      continue;
    }
    const buf = fs.readFileSync(file);
    const sha = crypto.createHash('sha256').update(buf).digest('hex');
    const problems = [];
    if (manifest.files?.[rel]?.sha256 !== sha) problems.push('not the file the manifest records');
    let result;
    try {
      if (target.zig.includes('linux')) result = checkElf(buf, file, target);
      else if (target.zig.includes('macos')) result = checkMachO(buf, file, target);
      else result = checkPe(buf, file);
    } catch (err) {
      result = { problems: [`could not inspect: ${String(err.message).split('\n')[0]}`], summary: '' };
    }
    problems.push(...result.problems);
    if (problems.length) fail(`${rel}: ${problems.join('; ')}`);
    else console.log(`ok   ${rel}: ${result.summary} (${buf.length} bytes)`);
  }
  process.exit(failed ? 1 : 0);
}

main();
