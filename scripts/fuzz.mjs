// Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for --seconds (default 600),
// starting from native/fuzz/corpus/<target>. A crash leaves its input in native/fuzz/crashes/;
// copy it into the target's corpus directory and it becomes a regression test (ctest runs every
// corpus file through the target, fuzzing or not).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] || 600);
const targets = ['record_scanner', 'chunk_recovery', 'segment_reader', 'directory_reader'];

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', ...options });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

if (spawnSync('clang++', ['--version']).status !== 0) {
  console.error('clang++ is needed for fuzzing (apt-get install clang)');
  process.exit(1);
}
const build = 'build-fuzz';
if (run('cmake', ['-S', '.', '-B', build, '-DCMAKE_CXX_COMPILER=clang++', '-DANNALS_FUZZ=ON', '-DCMAKE_BUILD_TYPE=RelWithDebInfo']) !== 0)
  process.exit(1);
if (run('cmake', ['--build', build, '-j', '2', '--target', ...targets.map((t) => `fuzz_${t}`)]) !== 0) process.exit(1);
const crashes = path.resolve('native/fuzz/crashes');
fs.mkdirSync(crashes, { recursive: true });
let failed = 0;
for (const t of targets) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `annals-fuzz-${t}-`));
  console.log(`fuzzing ${t} for ${seconds}s`);
  const status = run(path.join(build, `fuzz_${t}`), [
    work,
    path.resolve('native/fuzz/corpus', t),
    `-max_total_time=${seconds}`,
    '-max_len=65536',
    '-timeout=10',
    '-rss_limit_mb=4096',
    `-artifact_prefix=${crashes}/${t}-`,
    '-print_final_stats=1',
  ]);
  fs.rmSync(work, { recursive: true, force: true });
  if (status !== 0) failed++;
}
console.log(`${targets.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
