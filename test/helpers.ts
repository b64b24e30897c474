import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { type EngineName, EventStore, type StoreOptions } from '../lib/index.js';
import { nativeAddon, nativeLoadError } from '../lib/native.js';

/** Both engines; in CI a missing addon is a failure, not a skip. */
export const ENGINES: EngineName[] = (() => {
  if (nativeAddon()) return ['native', 'js'];
  if (process.env.CI) throw new Error(`native addon failed to load in CI: ${nativeLoadError()?.message}`);
  return ['js'];
})();

export const MiB = 1 << 20;

const dirs: string[] = [];
const stores: EventStore[] = [];

export function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-test-'));
  dirs.push(d);
  return d;
}

export async function openStore(dir: string, engine: EngineName, options: StoreOptions = {}): Promise<EventStore> {
  const s = await EventStore.open(dir, { engine, chunkSize: MiB, ...options });
  stores.push(s);
  return s;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

export function chunkPath(dir: string, n = 0): string {
  return path.join(dir, 'chunks', `${String(n).padStart(8, '0')}.chunk`);
}

/** Paths of the store's index files whose names start with `prefix` ('command-', 'stream-'), in
 * name order: oldest first. */
export function indexFiles(dir: string, prefix: string): string[] {
  const index = path.join(dir, 'index');
  return fs
    .readdirSync(index)
    .filter((f) => f.startsWith(prefix))
    .sort()
    .map((f) => path.join(index, f));
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Calls `onLine` with each whole line a child process writes to `stream` (its stdout). */
export function onLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
}
