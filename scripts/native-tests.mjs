// Builds and runs the native unit tests (native/test) with AddressSanitizer + UBSan through CMake
// and ctest. Prints the test binary's own "N passed, N failed" line.
import { spawnSync } from 'node:child_process';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${cmd} ${args.join(' ')} failed`);
    process.exit(r.status ?? 1);
  }
}

const dir = 'build-native';
run('cmake', ['-S', '.', '-B', dir, '-DCMAKE_BUILD_TYPE=Debug', '-DANNALS_SANITIZE=ON']);
run('cmake', ['--build', dir, '-j', '2']);
run('ctest', ['--test-dir', dir, '--output-on-failure', '-V']);
