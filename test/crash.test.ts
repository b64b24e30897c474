import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventStore } from '../lib/index.js';
import { collect, ENGINES, tempDir } from './helpers.js';

const ROUNDS = Number(process.env.ANNALS_CRASH_ROUNDS ?? 6);
const WRITER = path.join(import.meta.dirname, 'fixtures', 'crash-writer.ts');

interface Ack {
  stream: string;
  lastVersion: number;
  commandId: string;
}

/** Runs the writer until it has acknowledged `minAcks` appends plus a random delay, then SIGKILLs it. */
function runAndKill(dir: string, engine: string, seed: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, engine, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Ack[] = [];
    let buffered = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [kind, stream, v, commandId] = line.split(' ');
        if (kind === 'open' && !killTimer) {
          killTimer = setTimeout(() => child.kill('SIGKILL'), 20 + (seed % 7) * 40);
        }
        if (kind === 'ack') acks.push({ stream: stream as string, lastVersion: Number(v), commandId: commandId as string });
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own: ${stderr}`));
      else resolve(acks);
    });
  });
}

describe.each(ENGINES)('crash recovery (%s engine)', (engine) => {
  it(`keeps every acknowledged append across ${ROUNDS} SIGKILLs`, async () => {
    const dir = tempDir();
    const acked = new Map<string, Ack>();
    let totalAcks = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const acks = await runAndKill(dir, engine, 1000 * round + 17);
      totalAcks += acks.length;
      for (const a of acks) acked.set(a.commandId, a);
      const store = await EventStore.open(dir, { engine, chunkSize: 1 << 20, indexMemtableEntries: 500, maxIndexSegments: 4 });
      try {
        for (const a of acks) {
          const events = await store.readCommand(a.commandId);
          expect(events, `acknowledged ${a.commandId} lost`).toBeDefined();
          expect(events?.at(-1)?.version).toBe(a.lastVersion);
        }
        const all = await collect(store.readAll());
        const next = new Map<string, number>();
        let lastPosition = 0;
        for (const e of all) {
          expect(e.version).toBe((next.get(e.streamId) ?? 0) + 1);
          expect(e.position).toBeGreaterThan(lastPosition);
          next.set(e.streamId, e.version);
          lastPosition = e.position;
        }
        for (const [stream, v] of next) {
          expect(await store.streamVersion(stream)).toBe(v);
          expect((await store.readStream(stream)).length).toBe(v);
        }
        const stats = await store.stats();
        expect(stats.eventCount).toBe(all.length);
        await store.close();
        const again = await EventStore.open(dir, { engine, chunkSize: 1 << 20, indexMemtableEntries: 500, maxIndexSegments: 4 });
        expect((await again.stats()).eventCount).toBe(stats.eventCount);
        expect((await again.stats()).recovery.torn).toBe(false);
        await again.close();
      } finally {
        await store.close();
      }
    }
    expect(totalAcks).toBeGreaterThan(0);
    expect(acked.size).toBe(totalAcks);
  });
});
