// Brings the local addon build up to date before the tests (incremental; a no-op when nothing
// changed), so a test never runs against a stale build/Release/annals.node.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const nodeGyp = path.join(path.dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
const args = fs.existsSync('build/Makefile') ? ['build'] : ['rebuild'];
const r = spawnSync(process.execPath, [nodeGyp, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
if (r.status !== 0) {
  console.error('native build failed');
  process.exit(r.status ?? 1);
}
