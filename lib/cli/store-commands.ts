/**
 * The `annals` commands that inspect, repair, copy and move a store: stats, verify, rebuild-index,
 * backup, export, import. Each refuses a path that holds no store with the documented code
 * (store-dir.ts) before doing anything, and one that creates a store leaves none behind when it
 * fails with nothing done (created-dir.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { acquireDirLock } from '../dir-lock.js';
import { InvalidArgumentError } from '../errors.js';
import { EventStore } from '../event-store.js';
import { checkStoreDir } from '../store-dir.js';
import { verifyStore } from '../verify.js';
import { firstMissing, removeCreated } from './created-dir.js';
import { bar, progressReporter } from './progress.js';
import { exportEvents, importEvents } from './transfer.js';

const MB = 1e6;

function stats(program: Command): void {
  program
    .command('stats <dir>')
    .description('print the store statistics as JSON (opens read-only)')
    .action(async (dir: string) => {
      const store = await EventStore.open(dir, { readOnly: true });
      process.stdout.write(`${JSON.stringify(await store.stats(), null, 2)}\n`);
      await store.close();
    });
}

function verify(program: Command): void {
  program
    .command('verify <dir>')
    .description("check every record's CRC, every index segment and snapshot, and index entries against the log; exit 1 on any fault")
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, o: { json?: boolean }) => {
      checkStoreDir(dir, false);
      const progress = progressReporter('verify');
      const report = verifyStore(dir, { onProgress: progress.report });
      progress.stop();
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
}

function rebuildIndex(program: Command): void {
  program
    .command('rebuild-index <dir>')
    .description('delete the index segments and rebuild them from the data log (takes the writer lock first)')
    .action(async (dir: string) => {
      checkStoreDir(dir, false);
      // The writer lock first: a store another process holds is refused (STORE_LOCKED) before
      // anything is deleted. Between its release and the open below another writer may take the
      // store; it then finds no index and rebuilds it itself, and this open is refused: the index
      // is derived data, so either way nothing is lost.
      const lock = acquireDirLock(dir);
      try {
        fs.rmSync(path.join(dir, 'index'), { recursive: true, force: true });
      } finally {
        lock.release();
      }
      const store = await EventStore.open(dir);
      await store.close();
      const again = await EventStore.open(dir, { readOnly: true });
      const s = await again.stats();
      await again.close();
      process.stdout.write(
        `rebuilt: ${s.index.streamSegments} stream and ${s.index.commandSegments} command segments for ${s.eventCount} events\n`,
      );
    });
}

function backup(program: Command): void {
  program
    .command('backup <dir> <target>')
    .description('copy the store into <target> (absent or empty), consistent and compact, while a writer may go on appending')
    .action(async (dir: string, target: string) => {
      // Read-only: no lock, so a running writer keeps it; the copy holds the log as it was here.
      const store = await EventStore.open(dir, { readOnly: true });
      try {
        const { eventCount } = await store.stats();
        const progress = progressReporter('backup', ' bytes');
        const r = await store.backup(target, { onProgress: progress.report }).finally(progress.stop);
        process.stdout.write(
          `backed up ${eventCount} events (the log up to position ${r.endPosition}) to ${target}: ${r.chunks} chunks, ${r.segments} index segments, ${r.snapshots} snapshots, ${(r.bytes / MB).toFixed(1)} MB\n`,
        );
      } finally {
        await store.close();
      }
    });
}

function exportCommand(program: Command): void {
  program
    .command('export <dir>')
    .description('write the events as NDJSON to stdout, in global order (or one stream)')
    .option('--stream <streamId>', 'only this stream')
    .option('--after <position>', "resume: only events after this position (the last line's position)")
    .option('--salvage', 'skip damaged records (each reported on stderr) instead of stopping at the first')
    .action(async (dir: string, o: { stream?: string; after?: string; salvage?: boolean }) => {
      const after = o.after === undefined ? undefined : Number(o.after);
      if (after !== undefined && !Number.isSafeInteger(after)) throw new InvalidArgumentError(`--after must be a position, got ${o.after}`);
      if (o.salvage && o.stream !== undefined) {
        throw new InvalidArgumentError('--salvage reads the global log: it cannot be combined with --stream');
      }
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
}

function stdinFileSize(): number {
  try {
    const st = fs.fstatSync(0);
    return st.isFile() ? st.size : 0;
  } catch {
    return 0;
  }
}

function importCommand(program: Command): void {
  program
    .command('import <dir>')
    .description('append the NDJSON events read from stdin, keeping versions and command ids (resumable)')
    .action(async (dir: string) => {
      const created = firstMissing(dir);
      const store = await EventStore.open(dir);
      const size = stdinFileSize();
      const progress = bar('import');
      if (size > 0) progress.start(size, 0);
      const counts = { imported: 0, skipped: 0 };
      try {
        await importEvents(store, process.stdin, (bytes) => size > 0 && progress.increment(bytes), counts);
        if (size > 0) progress.stop();
        process.stderr.write(`imported ${counts.imported} events, skipped ${counts.skipped} already present\n`);
      } catch (err) {
        if (size > 0) progress.stop();
        await store.close();
        // A store this import created and put nothing into goes; one holding events stays, as the
        // import resumes where it stopped when run again.
        if (counts.imported === 0) removeCreated(created);
        else process.stderr.write(`imported ${counts.imported} events before the failure; run the import again to resume\n`);
        throw err;
      }
      await store.close();
    });
}

export function storeCommands(program: Command): void {
  stats(program);
  verify(program);
  rebuildIndex(program);
  backup(program);
  exportCommand(program);
  importCommand(program);
}
