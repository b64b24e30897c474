import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Durability, EventStore, type RecordedEvent } from '../lib/index.js';
import { verifyStore } from '../lib/verify.js';
import { collect, ENGINES, onLines, tempDir } from './helpers.js';

const ROUNDS = Number(process.env.ANNALS_CRASH_ROUNDS ?? 3);
const WRITER = path.join(import.meta.dirname, 'fixtures', 'crash-writer.ts');
const OPTIONS = { chunkSize: 1 << 20, indexMemtableEntries: 500, maxIndexSegments: 4 };
const tally = { rounds: 0, acknowledged: 0, lost: 0, partialAppends: 0, verifyFaults: 0 };

interface RoundLog {
  acks: { stream: string; lastVersion: number; commandId: string }[];
}

/** Runs the writer, SIGKILLs it at a moment chosen by the seed, returns what it said. */
function runAndKill(dir: string, engine: string, seed: number, durability: Durability): Promise<RoundLog> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, engine, String(seed), durability], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: RoundLog = { acks: [] };
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    onLines(child.stdout, (line) => {
      const [kind, a, b, c] = line.split(' ');
      if (kind === 'open' && !killTimer) killTimer = setTimeout(() => child.kill('SIGKILL'), 20 + (seed % 9) * 35);
      if (kind === 'ack') log.acks.push({ stream: a as string, lastVersion: Number(b), commandId: c as string });
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(log) : reject(new Error(`writer exited on its own: ${stderr}`))));
  });
}

afterAll(() => {
  console.log(
    `crash tally: ${tally.rounds} rounds, ${tally.acknowledged} acknowledged appends checked, ${tally.lost} lost, ${tally.partialAppends} partial appends visible, ${tally.verifyFaults} verify faults`,
  );
});

describe.each(ENGINES)('crash recovery (%s engine)', (engine) => {
  it.each(['sync', 'interval', 'none'] as const)(
    `durability %s: ${ROUNDS} SIGKILLs, nothing acknowledged lost (sync), nothing partial, verify clean`,
    { timeout: 60_000 + ROUNDS * 5_000 },
    async (durability) => {
      const dir = tempDir();
      for (let round = 0; round < ROUNDS; round++) {
        const log = await runAndKill(dir, engine, 1000 * round + 17, durability);
        tally.rounds++;
        const store = await EventStore.open(dir, { engine, ...OPTIONS });
        try {
          if (durability === 'sync') {
            for (const a of log.acks) {
              tally.acknowledged++;
              const events = await store.readCommand(a.commandId);
              if (!events) tally.lost++;
              expect(events, `acknowledged ${a.commandId} lost`).toBeDefined();
              expect(events?.at(-1)?.version).toBe(a.lastVersion);
            }
          }
          const all = await collect(store.readAll());
          const next = new Map<string, number>();
          const byCommand = new Map<string, RecordedEvent[]>();
          let lastPosition = 0;
          for (const e of all) {
            expect(e.version).toBe((next.get(e.streamId) ?? 0) + 1);
            expect(e.position).toBeGreaterThan(lastPosition);
            next.set(e.streamId, e.version);
            lastPosition = e.position;
            byCommand.set(e.commandId as string, [...(byCommand.get(e.commandId as string) ?? []), e]);
          }
          for (const [commandId, events] of byCommand) {
            const size = (events[0]?.data as { count: number } | undefined)?.count;
            if (events.length !== size) tally.partialAppends++;
            expect(events.length, `append ${commandId} is partial`).toBe(size);
          }
          for (const [stream, v] of next) {
            expect(await store.streamVersion(stream)).toBe(v);
            expect((await store.readStream(stream)).length).toBe(v);
            const snap = await store.loadSnapshot(stream);
            if (snap) expect(snap.version).toBeLessThanOrEqual(v);
          }
          const stats = await store.stats();
          expect(stats.eventCount).toBe(all.length);
          await store.close();
          const report = verifyStore(dir);
          tally.verifyFaults += report.faults.length;
          expect(report.faults).toEqual([]);
          const again = await EventStore.open(dir, { engine, ...OPTIONS });
          expect((await again.stats()).eventCount).toBe(stats.eventCount);
          expect((await again.stats()).recovery.torn).toBe(false);
          await again.close();
        } finally {
          await store.close();
        }
      }
    },
  );
});
