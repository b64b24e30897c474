/**
 * Differential checks of the bounded dictionaries and their absence filters: the same random
 * sequence of appends (single and appendMany, atomic or not, every kind of expected version, new
 * and retried command ids), deletes (soft and hard), truncations, reads, reopens and scavenges
 * must get the same answers from a store whose dictionaries hold 8 entries (filters turned over
 * many times, memtables of 100 entries) as from one whose dictionaries never fill, and the same
 * from both engines. A wrong "absent" answer would show as a command written twice or an expected
 * version passing where the roomy store refuses it.
 */
import { describe, expect, it } from 'vitest';
import type { EventStore, StoreOptions } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Op = () => Promise<unknown>;

async function run(engine: 'native' | 'js', options: StoreOptions, seed: number): Promise<string[]> {
  const dir = tempDir();
  let s: EventStore = await openStore(dir, engine, options);
  const r = rng(seed);
  const log: string[] = [];
  let streams = 0;
  let cmds = 0;
  const pick = () => `s-${Math.floor(r() * Math.max(1, streams))}`;
  const pickCmd = () => `c-${Math.floor(r() * Math.max(1, cmds))}`;
  const out = (v: unknown) =>
    v instanceof Error
      ? `E:${(v as { code?: string }).code}`
      : JSON.stringify(v, (k, x) => (k === 'position' || k === 'id' || k === 'timestamp' ? undefined : x));
  const expected = () => {
    const x = r();
    return x < 0.3 ? undefined : x < 0.45 ? 'no_stream' : x < 0.55 ? 'stream_exists' : x < 0.6 ? 'any' : Math.floor(r() * 5);
  };
  for (let step = 0; step < 700; step++) {
    const x = r();
    let op: Op;
    let name: string;
    if (x < 0.3) {
      const n = 1 + Math.floor(r() * 40);
      const items = Array.from({ length: n }, () => ({
        streamId: r() < 0.8 ? `s-${streams++}` : pick(),
        events: [{ type: 'T' }],
        ...(r() < 0.5 ? { expectedVersion: expected() } : {}),
        ...(r() < 0.7 ? { commandId: r() < 0.8 ? `c-${cmds++}` : pickCmd() } : {}),
      }));
      const atomic = r() < 0.3;
      name = `many(${atomic})`;
      op = () => s.appendMany(items as never, { atomic });
    } else if (x < 0.6) {
      const id = pick();
      const ev = expected();
      const c = r() < 0.5 ? (r() < 0.5 ? `c-${cmds++}` : pickCmd()) : undefined;
      name = `append ${id} ${ev} ${c}`;
      op = () =>
        s.append(id, [{ type: 'T' }], { ...(ev !== undefined ? { expectedVersion: ev as never } : {}), ...(c ? { commandId: c } : {}) });
    } else if (x < 0.65) {
      const id = pick();
      const hard = r() < 0.3;
      name = `delete ${id} ${hard}`;
      op = () => s.deleteStream(id, { hard });
    } else if (x < 0.68) {
      const id = pick();
      const tb = Math.floor(r() * 4);
      name = `truncate ${id} ${tb}`;
      op = () => s.setStreamMetadata(id, { truncateBefore: tb });
    } else if (x < 0.8) {
      const id = pick();
      name = `version ${id}`;
      op = async () => [await s.streamVersion(id), (await s.readStream(id)).map((e) => e.version)];
    } else if (x < 0.9) {
      const c = pickCmd();
      name = `readCommand ${c}`;
      op = async () => (await s.readCommand(c))?.map((e) => `${e.streamId}@${e.version}`);
    } else if (x < 0.92) {
      name = 'reopen';
      op = async () => {
        await s.close();
        s = await openStore(dir, engine, options);
      };
    } else if (x < 0.93) {
      name = 'scavenge';
      op = async () => (await s.scavenge()).chunksExamined >= 0;
    } else {
      const id = pick();
      name = `read ${id}`;
      op = async () => (await s.readEvent(id, 1 + Math.floor(r() * 3)))?.version;
    }
    let v: unknown;
    try {
      v = await op();
    } catch (e) {
      v = e;
    }
    log.push(`${step} ${name} -> ${out(v)}`);
  }
  await s.close();
  return log;
}

const TINY: StoreOptions = { maxRecentStreams: 8, maxRecentCommands: 8, indexMemtableEntries: 100, maxIndexSegments: 3 };

describe.each(ENGINES)('dictionaries of 8 entries answer as roomy ones (%s engine)', (engine) => {
  it('over a random sequence of 700 operations', async () => {
    const tiny = await run(engine, TINY, 11);
    const roomy = await run(engine, { maxRecentStreams: 100_000, maxRecentCommands: 100_000 }, 11);
    for (let i = 0; i < roomy.length; i++) expect(tiny[i]).toBe(roomy[i]);
  }, 120_000);
});

describe.runIf(ENGINES.length === 2)('both engines answer alike with dictionaries of 8 entries', () => {
  it('over a random sequence of 700 operations', async () => {
    const a = await run('native', TINY, 21);
    const b = await run('js', TINY, 21);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBe(b[i]);
  }, 120_000);
});
