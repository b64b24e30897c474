#!/usr/bin/env node
/**
 * The `annals` command: serve a store over HTTP with the Stream Browser, and inspect, verify,
 * repair, scavenge, back up, export, import and copy stores (a directory or a postgres:// URL), list their
 * streams, categories, event types and consumers, reset a consumer and delete a stream. Every command has --help; failures exit non-zero
 * with one line on stderr, `annals: <CODE>: <message>`, the code one of docs/api.md's.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { toAnnalsError } from '../errors.js';
import { PACKAGE_ROOT } from '../native.js';
import { copyCommand } from './copy.js';
import { readModelCommands } from './read-model-commands.js';
import { scavengeCommand } from './scavenge-command.js';
import { serveCommand } from './serve.js';
import { storeCommands } from './store-commands.js';

/** One line on stderr with a documented code: an error that is not yet an AnnalsError (an `fs`
 * error, say) is mapped the way the library maps them. */
function fail(err: unknown): never {
  const e = toAnnalsError(err) as { code?: string; message?: string };
  process.stderr.write(`annals: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`.replace(/\n(?=.)/g, ' '));
  process.exit(1);
}

const version = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const program = new Command('annals')
  .description('embedded event store: serve, inspect, back up and repair a store directory')
  .version(version, '-v, --version', 'print the version of annals')
  .showHelpAfterError();

serveCommand(program);
storeCommands(program);
readModelCommands(program);
scavengeCommand(program);
copyCommand(program);

// The bench suite is part of the source repository, not of the published package: the command
// exists only where it can run.
const benchRunner = path.join(PACKAGE_ROOT, 'bench', 'run.ts');
if (fs.existsSync(benchRunner)) {
  program
    .command('bench')
    .description('run the quick end-to-end workload and print the comparison table (source checkout only)')
    .action(() => {
      const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', benchRunner, '--quick', '--suite', 'e2e'], {
        stdio: 'inherit',
        cwd: PACKAGE_ROOT,
      });
      process.exit(r.status ?? 1);
    });
}

program.parseAsync(process.argv).catch(fail);
