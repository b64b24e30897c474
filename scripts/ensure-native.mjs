// Brings the local addon build up to date before the tests (incremental; a no-op when nothing
// changed), so a test never runs against a stale build/Release/annals.node.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const nodeGyp = path.join(path.dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
// Reconfigure when the source list changed since the Makefile was generated.
const mtime = (f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : 0);
const stale = mtime('build/Makefile') < Math.max(mtime('binding.gyp'), mtime('native/sources.txt'));
const args = stale ? ['rebuild'] : ['build'];
// Outside `npm run`, npm's nodedir setting is not in the environment: point node-gyp at the headers
// of the running Node when they are installed beside it, instead of downloading them.
const prefix = path.dirname(path.dirname(process.execPath));
if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const r = spawnSync(process.execPath, [nodeGyp, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
if (r.status !== 0) {
  console.error('native build failed');
  process.exit(r.status ?? 1);
}
