// Starts a throw-away PostgreSQL server from the machine's installed binaries (Debian's postgresql
// package): initdb into a new temporary directory, pg_ctl start on a free local port, listening on
// 127.0.0.1 only, with trust authentication (nothing but this machine reaches it). PostgreSQL
// refuses to run as root, so under root the server runs as the `postgres` user the package creates.
//
//   import { startPgServer } from './pg-server.mjs';
//   const server = await startPgServer({ fsync: false });   // server.url, server.stop()
//   node scripts/pg-server.mjs start   -> prints the URL and leaves the server running
//   node scripts/pg-server.mjs stop <dir>
//
// When no server can be started, startPgServer throws an Error whose message says why (the tests
// print it as their reason for skipping).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The directory holding initdb and pg_ctl: PATH first, then Debian's versioned directories. */
export function findPgBin() {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return path.join(root, versions[0], 'bin');
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a server binary, as `postgres` when this process is root. */
function run(bin, args, asUser) {
  const cmd = asUser ? 'runuser' : bin;
  const full = asUser ? ['-u', asUser, '--', bin, ...args] : args;
  const r = spawnSync(cmd, full, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0)
    throw new Error(`${path.basename(bin)} failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' ')}`);
  return r.stdout;
}

export async function startPgServer(options = {}) {
  const bin = findPgBin();
  if (!bin) throw new Error("no PostgreSQL server binaries (initdb, pg_ctl) on this machine: install Debian's postgresql package");
  let asUser;
  if (process.getuid?.() === 0) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (id.status !== 0) throw new Error('running as root and there is no postgres user to run the server as');
    asUser = 'postgres';
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-pg-'));
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  fs.mkdirSync(sock);
  if (asUser) execFileSync('chown', ['-R', asUser, dir]);
  try {
    run(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], asUser);
    const port = options.port ?? (await freePort());
    const settings = [
      `-c listen_addresses=127.0.0.1`,
      `-c port=${port}`,
      `-c unix_socket_directories=${sock}`,
      `-c max_connections=${options.maxConnections ?? 300}`,
      `-c fsync=${options.fsync === false ? 'off' : 'on'}`,
      '-c shared_buffers=128MB',
    ].join(' ');
    run(path.join(bin, 'pg_ctl'), ['-D', data, '-o', settings, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start'], asUser);
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const pgCtl = (...args) => run(path.join(bin, 'pg_ctl'), ['-D', data, ...args], asUser);
    return {
      url,
      dir,
      port,
      /** Stops the server (`immediate`: as a crash would, no checkpoint) and keeps its data. */
      halt: (mode = 'immediate') => pgCtl('-m', mode, '-w', 'stop'),
      /** Starts it again on the same port after `halt`. */
      restart: () => pgCtl('-o', settings, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start'),
      stop: () => {
        try {
          pgCtl('-m', 'immediate', '-w', 'stop');
        } catch {
          // already stopped
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [cmd, arg] = process.argv.slice(2);
  if (cmd === 'start') {
    const s = await startPgServer({ fsync: arg !== 'nofsync' });
    console.log(`${s.url} ${s.dir}`);
  } else if (cmd === 'stop' && arg) {
    const bin = findPgBin();
    run(
      path.join(bin, 'pg_ctl'),
      ['-D', path.join(arg, 'data'), '-m', 'immediate', 'stop'],
      process.getuid?.() === 0 ? 'postgres' : undefined,
    );
    fs.rmSync(arg, { recursive: true, force: true });
  } else {
    console.error('usage: node scripts/pg-server.mjs start [nofsync] | stop <dir>');
    process.exit(2);
  }
}
