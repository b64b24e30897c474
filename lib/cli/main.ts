#!/usr/bin/env node
/**
 * The `annals` command: serve a store over HTTP with the Stream Browser, and inspect, verify,
 * repair, export and import stores. Every command has --help; failures exit non-zero with a
 * one-line reason on stderr.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { EventStore } from '../event-store.js';
import { PACKAGE_ROOT } from '../native.js';
import { createServer, SERVER_DEFAULTS, type ServerOptions } from '../server/http-api.js';
import type { EngineName } from '../types.js';
import { verifyStore } from '../verify.js';
import { copyStore, isPostgresUrl, openTarget } from './copy.js';
import { exportEvents, importEvents } from './transfer.js';

function fail(err: unknown): never {
  const e = err as { code?: string; message?: string };
  process.stderr.write(`annals: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`.replace(/\n(?=.)/g, ' '));
  process.exit(1);
}

function engineOption(v: string | undefined): EngineName | undefined {
  if (v === undefined) return undefined;
  if (v !== 'native' && v !== 'js') throw new Error(`--engine must be native or js, got ${v}`);
  return v;
}

function requireStore(dir: string): void {
  if (!fs.existsSync(path.join(dir, 'chunks'))) throw new Error(`no store at ${dir}`);
}

function bar(label: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total}`,
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: false,
      notTTYSchedule: 2000,
    },
    cliProgress.Presets.shades_classic,
  );
}

const program = new Command('annals').description('embedded event store: serve, inspect and repair a store directory').showHelpAfterError();

/** A whole-number flag, or undefined when absent (createServer checks the range). */
function intFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`${flag} must be a whole number, got ${v}`);
  return Number(v);
}

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

function serverOptions(o: ServeFlags): ServerOptions {
  return {
    token: o.token,
    maxPageSize: intFlag('--max-page-size', o.maxPageSize),
    maxPageBytes: intFlag('--max-page-bytes', o.maxPageBytes),
    maxSubscribers: intFlag('--max-subscribers', o.maxSubscribers),
    subscriberBufferBytes: intFlag('--subscriber-buffer-bytes', o.subscriberBufferBytes),
  };
}

program
  .command('serve <dir>')
  .description('open the store (creating it if absent) and serve the HTTP API and the Stream Browser')
  .option('--port <port>', 'port to listen on', '2113')
  .option('--host <host>', 'address to listen on (loopback by default)', '127.0.0.1')
  .option('--token <token>', 'require this bearer token on every API request')
  .option('--read-only', 'open the store read-only')
  .option('--engine <engine>', 'native or js')
  .option('--max-page-size <n>', `largest limit a list request may ask for (default ${SERVER_DEFAULTS.maxPageSize})`)
  .option('--max-page-bytes <n>', `bytes of event JSON after which a page ends (default ${SERVER_DEFAULTS.maxPageBytes})`)
  .option('--max-subscribers <n>', `Server-Sent Events subscribers served at once (default ${SERVER_DEFAULTS.maxSubscribers})`)
  .option('--subscriber-buffer-bytes <n>', `unsent bytes one subscriber may hold (default ${SERVER_DEFAULTS.subscriberBufferBytes})`)
  .action(async (dir: string, o: ServeFlags) => {
    const port = Number(o.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${o.port}`);
    const options = serverOptions(o);
    const store = await EventStore.open(dir, { readOnly: o.readOnly ?? false, engine: engineOption(o.engine) });
    let app: ReturnType<typeof createServer>;
    try {
      app = createServer(store, options);
    } catch (err) {
      await store.close();
      throw err;
    }
    const address = await app.listen({ port, host: o.host });
    process.stdout.write(`annals: serving ${path.resolve(dir)} at ${address}/ (${store.engineName} engine)\n`);
    const stop = async () => {
      await app.close();
      await store.close();
      process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

program
  .command('stats <dir>')
  .description('print the store statistics as JSON (opens read-only)')
  .action(async (dir: string) => {
    requireStore(dir);
    const store = await EventStore.open(dir, { readOnly: true });
    process.stdout.write(`${JSON.stringify(await store.stats(), null, 2)}\n`);
    await store.close();
  });

program
  .command('verify <dir>')
  .description("check every record's CRC, every index segment and snapshot, and index entries against the log; exit 1 on any fault")
  .option('--json', 'print the report as JSON')
  .action(async (dir: string, o: { json?: boolean }) => {
    requireStore(dir);
    const progress = bar('verify');
    let started = false;
    const report = verifyStore(dir, {
      onProgress: (done, total) => {
        if (!started) {
          progress.start(total, 0);
          started = true;
        }
        progress.update(done);
      },
    });
    if (started) progress.stop();
    if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      process.stdout.write(
        `${report.chunks} chunks, ${report.records} records, ${report.segments} index segments (${report.indexEntries} entries), ${report.snapshots} snapshots\n`,
      );
      for (const f of report.faults) process.stdout.write(`FAULT ${f.file} at offset ${f.offset}: ${f.problem}\n`);
      process.stdout.write(report.ok ? 'ok: no fault found\n' : `${report.faults.length} fault(s) found\n`);
    }
    process.exit(report.ok ? 0 : 1);
  });

program
  .command('rebuild-index <dir>')
  .description('delete the index segments and rebuild them from the data log')
  .action(async (dir: string) => {
    requireStore(dir);
    fs.rmSync(path.join(dir, 'index'), { recursive: true, force: true });
    const store = await EventStore.open(dir);
    await store.close();
    const again = await EventStore.open(dir, { readOnly: true });
    const s = await again.stats();
    await again.close();
    process.stdout.write(
      `rebuilt: ${s.index.streamSegments} stream and ${s.index.commandSegments} command segments for ${s.eventCount} events\n`,
    );
  });

program
  .command('export <dir>')
  .description('write the events as NDJSON to stdout, in global order (or one stream)')
  .option('--stream <streamId>', 'only this stream')
  .option('--after <position>', "resume: only events after this position (the last line's position)")
  .option('--salvage', 'skip damaged records (each reported on stderr) instead of stopping at the first')
  .action(async (dir: string, o: { stream?: string; after?: string; salvage?: boolean }) => {
    const after = o.after === undefined ? undefined : Number(o.after);
    if (after !== undefined && !Number.isSafeInteger(after)) throw new Error(`--after must be a position, got ${o.after}`);
    if (o.salvage && o.stream !== undefined) throw new Error('--salvage reads the global log: it cannot be combined with --stream');
    requireStore(dir);
    const store = await EventStore.open(dir, { readOnly: true });
    const s = await store.stats();
    const progress = bar('export');
    progress.start(s.eventCount, 0);
    const skipped: string[] = [];
    const onDamaged = o.salvage
      ? (position: number, err: Error) => skipped.push(`skipped the damaged record at position ${position}: ${err.message}`)
      : undefined;
    const n = await exportEvents(store, process.stdout, { streamId: o.stream, after, onDamaged }, () => progress.increment());
    progress.stop();
    await store.close();
    for (const line of skipped) process.stderr.write(`${line}\n`);
    process.stderr.write(`exported ${n} events${o.salvage ? `, skipped ${skipped.length} damaged records` : ''}\n`);
  });

program
  .command('import <dir>')
  .description('append the NDJSON events read from stdin, keeping versions and command ids (resumable)')
  .action(async (dir: string) => {
    const store = await EventStore.open(dir);
    const size = (() => {
      try {
        const st = fs.fstatSync(0);
        return st.isFile() ? st.size : 0;
      } catch {
        return 0;
      }
    })();
    const progress = bar('import');
    if (size > 0) progress.start(size, 0);
    try {
      const r = await importEvents(store, process.stdin, (bytes) => size > 0 && progress.increment(bytes));
      if (size > 0) progress.stop();
      process.stderr.write(`imported ${r.imported} events, skipped ${r.skipped} already present\n`);
    } finally {
      await store.close();
    }
  });

program
  .command('copy <from> <to>')
  .description(
    'copy every event from one store to another (a directory or a postgres:// URL), keeping order, versions, command ids, ids and metadata; resumable',
  )
  .option('--from-schema <schema>', 'schema of a PostgreSQL source (default annals)')
  .option('--to-schema <schema>', 'schema of a PostgreSQL destination (default annals)')
  .action(async (from: string, to: string, o: { fromSchema?: string; toSchema?: string }) => {
    if (!isPostgresUrl(from)) requireStore(from);
    const source = await openTarget(from, { readOnly: true, schema: o.fromSchema });
    try {
      const dest = await openTarget(to, { schema: o.toSchema });
      try {
        const progress = bar('copy');
        progress.start((await source.stats()).eventCount, 0);
        const r = await copyStore(source, dest, { onProgress: (done) => progress.update(done) });
        progress.stop();
        process.stderr.write(`copied ${r.copied} events, skipped ${r.skipped} already present\n`);
      } finally {
        await dest.close();
      }
    } finally {
      await source.close();
    }
  });

program
  .command('bench')
  .description('run the quick end-to-end workload and print the comparison table (from a source checkout)')
  .action(() => {
    const runner = path.join(PACKAGE_ROOT, 'bench', 'run.ts');
    if (!fs.existsSync(runner)) throw new Error('the bench suite ships with the source repository, not the package');
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', runner, '--quick', '--suite', 'e2e'], {
      stdio: 'inherit',
      cwd: PACKAGE_ROOT,
    });
    process.exit(r.status ?? 1);
  });

program.parseAsync(process.argv).catch(fail);
