// clang-format over the native sources: `--check` fails on any difference, `--fix` rewrites.
// Uses the binary shipped inside the clang-format npm package, so no system install is needed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const pkgDir = path.dirname(require.resolve('clang-format/package.json'));
const binary = path.join(pkgDir, 'bin', `${process.platform}_${process.arch}`, 'clang-format');
const files = [];
for (const dir of ['native', 'native/test', 'native/fuzz']) {
  if (!fs.existsSync(dir)) continue;
  for (const f of fs.readdirSync(dir)) if (/\.(h|cc)$/.test(f)) files.push(path.join(dir, f));
}
const fix = process.argv.includes('--fix');
const args = fix ? ['-i', ...files] : ['--dry-run', '-Werror', ...files];
const r = spawnSync(binary, ['--style=file', ...args], { stdio: 'inherit' });
if (r.error) {
  console.error(`clang-format could not run: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
