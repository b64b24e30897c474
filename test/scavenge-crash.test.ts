import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventStore, RecordedEvent } from '../lib/index.js';
import { verifyStore } from '../lib/verify.js';
import { collect, ENGINES, openStore, tempDir } from './helpers.js';

const CHILD = path.join(import.meta.dirname, 'fixtures', 'scavenge-child.ts');
const OPTIONS = { indexMemtableEntries: 200, maxIndexSegments: 4 };
const MARKER = 'Kv3erase7Marker';
/** Every step of a chunk's swap, in order, then the directory rebuild after the last chunk. */
const STEPS = ['examined', 'written', 'synced', 'pending', 'renamed', 'dir-synced', 'adopted', 'directories'] as const;

function runChild(dir: string, engine: string, step: string, chunk: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, engine, step, String(chunk)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' || code === 0 ? resolve(out) : reject(new Error(`child failed: ${err}`))));
  });
}

async function populate(s: EventStore): Promise<void> {
  await s.append(`person-${MARKER}`, [{ type: 'Joined', data: { name: MARKER }, metadata: { by: MARKER } }]);
  for (let i = 0; i < 900; i++) await s.append(`acct-${i % 3}`, [{ type: 'Moved', data: { i, pad: 'p'.repeat(2000) } }]);
  await s.deleteStream(`person-${MARKER}`, { hard: true });
  await s.deleteStream('acct-1');
}

const keyOf = (e: RecordedEvent) => `${e.streamId}@${e.version}:${e.position}`;
const markerFiles = (dir: string) =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && fs.readFileSync(path.join(d.parentPath, d.name)).includes(MARKER))
    .map((d) => d.name);

describe.each(ENGINES)('scavenge killed at every step (%s engine)', (engine) => {
  it.each(STEPS)(
    'SIGKILL at %s: the store reopens with every chunk old or new, reads unchanged, verify clean, erasure completes',
    { timeout: 60_000 },
    async (step) => {
      const dir = tempDir();
      let s = await openStore(dir, engine, OPTIONS);
      await populate(s);
      const expected = (await collect(s.readAll())).map(keyOf);
      await s.close();

      const out = await runChild(dir, engine, step, step === 'directories' ? -1 : 0);
      expect(out).toContain(`killing ${step}`);

      s = await openStore(dir, engine, OPTIONS);
      expect((await collect(s.readAll())).map(keyOf)).toEqual(expected);
      expect((await s.readStream('acct-2')).length).toBe(300);
      await s.close();
      expect(verifyStore(dir).faults).toEqual([]);

      s = await openStore(dir, engine, OPTIONS);
      await s.scavenge();
      expect((await collect(s.readAll())).map(keyOf)).toEqual(expected);
      await s.close();
      expect(markerFiles(dir)).toEqual([]);
    },
  );
});
