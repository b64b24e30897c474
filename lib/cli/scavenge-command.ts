/**
 * `annals scavenge <dir>`: opens the store for writing (the writer lock: a store another process
 * holds is refused with STORE_LOCKED), scavenges it with a progress bar over its sealed chunks on
 * stderr, and prints the report (lib/scavenge.ts).
 */
import type { Command } from 'commander';
import { EventStore } from '../event-store.js';
import { checkStoreDir } from '../store-dir.js';
import { progressReporter } from './progress.js';

const MB = 1e6;

export function scavengeCommand(program: Command): void {
  program
    .command('scavenge <dir>')
    .description('reclaim the space of deleted, truncated and expired events: rewrites sealed chunks without them (positions never change)')
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, o: { json?: boolean }) => {
      checkStoreDir(dir, false);
      const store = await EventStore.open(dir);
      const progress = progressReporter('scavenge', ' chunks');
      try {
        const report = await store.scavenge({ onProgress: (p) => progress.report(p.chunksExamined, p.chunks) });
        progress.stop();
        if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else
          process.stdout.write(
            `${report.chunksExamined} chunks examined, ${report.chunksRewritten} rewritten, ${report.eventsRemoved} events removed, ` +
              `${(report.bytesReclaimed / MB).toFixed(1)} MB reclaimed in ${(report.durationMs / 1000).toFixed(1)} s\n`,
          );
      } finally {
        progress.stop();
        await store.close();
      }
    });
}
