/**
 * `annals serve`: the HTTP API and the Stream Browser over a store. It says where it really
 * listens (the address bound, and for an unspecified one the machine's addresses), warns when that
 * is reachable from other machines, and leaves no store directory behind when it fails to start.
 */
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, toAnnalsError } from '../errors.js';
import { EventStore } from '../event-store.js';
import { createServer, SERVER_DEFAULTS, type ServerOptions } from '../server/http-api.js';
import type { EngineName } from '../types.js';
import { firstMissing, removeCreated } from './created-dir.js';

interface ServeFlags {
  port: string;
  host: string;
  token?: string;
  readOnly?: boolean;
  engine?: string;
  maxPageSize?: string;
  maxPageBytes?: string;
  maxSubscribers?: string;
  subscriberBufferBytes?: string;
}

export function engineOption(v: string | undefined): EngineName | undefined {
  if (v === undefined) return undefined;
  if (v !== 'native' && v !== 'js') throw new InvalidArgumentError(`--engine must be native or js, got ${v}`);
  return v;
}

/** A whole-number flag, or undefined when absent (createServer checks the range). */
function intFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${flag} must be a whole number, got ${v}`);
  return Number(v);
}

function serverOptions(o: ServeFlags): ServerOptions {
  return {
    token: o.token,
    maxPageSize: intFlag('--max-page-size', o.maxPageSize),
    maxPageBytes: intFlag('--max-page-bytes', o.maxPageBytes),
    maxSubscribers: intFlag('--max-subscribers', o.maxSubscribers),
    subscriberBufferBytes: intFlag('--subscriber-buffer-bytes', o.subscriberBufferBytes),
  };
}

export function isLoopback(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

function urlOf(address: string, port: number): string {
  return address.includes(':') ? `http://[${address}]:${port}` : `http://${address}:${port}`;
}

/** The machine's own addresses a client may use when the server listens on all of them. */
function interfaceUrls(family: string, port: number): string[] {
  const urls: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (!a.internal && (family === 'IPv6' || a.family === 'IPv4')) urls.push(`${urlOf(a.address, port)}/`);
    }
  }
  return urls;
}

/** The lines `serve` prints once listening: where, and a warning when others can reach it. */
export function announce(dir: string, bound: AddressInfo, engine: string, token: boolean): { out: string; warning?: string } {
  let out = `annals: serving ${path.resolve(dir)} at ${urlOf(bound.address, bound.port)}/ (${engine} engine)\n`;
  if (isLoopback(bound.address)) return { out };
  if (bound.address === '0.0.0.0' || bound.address === '::') {
    for (const url of interfaceUrls(bound.family, bound.port)) out += `annals: reachable at ${url}\n`;
  }
  const who = token ? 'anyone with the token' : 'anyone who can reach it (no --token)';
  const warning = `annals: warning: ${bound.address} is not a loopback address: other machines can reach this server, and ${who} can read and append events\n`;
  return { out, warning };
}

export function serveCommand(program: Command): void {
  program
    .command('serve <dir>')
    .description('open the store (creating it if absent) and serve the HTTP API and the Stream Browser')
    .option('--port <port>', 'port to listen on', '2113')
    .option('--host <host>', 'address to listen on (loopback by default; others get a warning)', '127.0.0.1')
    .option('--token <token>', 'require this bearer token on every request, the page included (open it as /?token=...)')
    .option('--read-only', 'open the store read-only: no lock, a live view of the application writing it')
    .option('--engine <engine>', 'native or js')
    .option('--max-page-size <n>', `largest limit a list request may ask for (default ${SERVER_DEFAULTS.maxPageSize})`)
    .option('--max-page-bytes <n>', `bytes of event JSON after which a page ends (default ${SERVER_DEFAULTS.maxPageBytes})`)
    .option('--max-subscribers <n>', `Server-Sent Events subscribers served at once (default ${SERVER_DEFAULTS.maxSubscribers})`)
    .option('--subscriber-buffer-bytes <n>', `unsent bytes one subscriber may hold (default ${SERVER_DEFAULTS.subscriberBufferBytes})`)
    .action(async (dir: string, o: ServeFlags) => {
      const port = Number(o.port);
      if (!/^\d+$/.test(o.port) || port > 65535) throw new InvalidArgumentError(`--port must be 0..65535, got ${o.port}`);
      const options = serverOptions(o);
      const engine = engineOption(o.engine);
      const created = o.readOnly ? undefined : firstMissing(dir);
      const store = await EventStore.open(dir, { readOnly: o.readOnly ?? false, engine });
      let app: ReturnType<typeof createServer> | undefined;
      try {
        app = createServer(store, options);
        await app.listen({ port, host: o.host });
      } catch (err) {
        await app?.close().catch(() => {});
        await store.close();
        removeCreated(created);
        throw toAnnalsError(err, `cannot serve on ${o.host} port ${port}: `);
      }
      const server = app;
      const { out, warning } = announce(dir, server.server.address() as AddressInfo, store.engineName, options.token !== undefined);
      if (warning) process.stderr.write(warning);
      process.stdout.write(out);
      const stop = async () => {
        await server.close();
        await store.close();
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
