import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listing } from '../lib/conformance/read-models.js';
import { directoryRebuilds } from '../lib/index/directory-jobs.js';
import { type EventStore, WrongExpectedVersionError } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

// Memtables of 200 entries: a directory rebuild or patch holds at most 50 streams' entries (4
// entries' weight each) at once.
const SMALL = { indexMemtableEntries: 200, maxIndexSegments: 3 };
const MOST_HELD = 200 / 4;
const STREAMS = 2000;

const idle = (s: EventStore) => (s as unknown as { index: { idle(): Promise<void> } }).index.idle();

async function fill(s: EventStore, prefix: string): Promise<void> {
  for (let b = 0; b < STREAMS; b += 250)
    await s.appendMany(Array.from({ length: 250 }, (_, k) => ({ streamId: `${prefix}-${b + k}`, events: [{ type: 't', data: { k } }] })));
}

/** The directory files' ranges chain without gaps or overlaps. */
function chainsWhole(dir: string): boolean {
  const ranges = fs
    .readdirSync(path.join(dir, 'index'))
    .filter((f) => f.endsWith('.dir'))
    .map((f) =>
      f
        .slice('directory-'.length, -'.dir'.length)
        .split('-')
        .map((h) => Number.parseInt(h, 16)),
    )
    .sort((a, b) => (a[0] as number) - (b[0] as number));
  return ranges.every((r, i) => i === 0 || r[0] === (ranges[i - 1] as number[])[1]);
}

/** A store of thousands of streams whose directory files were deleted, and its listing before. */
async function storeWithoutDirectoryFiles(
  engine: (typeof ENGINES)[number],
): Promise<{ dir: string; want: Awaited<ReturnType<typeof listing>> }> {
  const dir = tempDir();
  const s = await openStore(dir, engine, SMALL);
  await fill(s, 'x');
  const want = await listing(s);
  await s.close();
  for (const f of fs.readdirSync(path.join(dir, 'index'))) if (f.endsWith('.dir')) fs.rmSync(path.join(dir, 'index', f));
  directoryRebuilds.mostHeld = 0;
  return { dir, want };
}

afterEach(() => {
  directoryRebuilds.mostHeld = 0;
});

describe.each(ENGINES)('stream directory rebuilds within a memtable of entries (%s engine)', (engine) => {
  it('rebuilds a slot of thousands of streams from the log in parts, merged into the same listing', async () => {
    const { dir, want } = await storeWithoutDirectoryFiles(engine);
    let t = await openStore(dir, engine, SMALL);
    await idle(t);
    expect(directoryRebuilds.mostHeld).toBeGreaterThan(0);
    expect(directoryRebuilds.mostHeld).toBeLessThanOrEqual(MOST_HELD);
    expect(await listing(t)).toEqual(want);
    expect(chainsWhole(dir)).toBe(true);
    await t.close();
    t = await openStore(dir, engine, SMALL);
    expect(await listing(t)).toEqual(want);
  }, 60_000);

  it('lists a slot with no file from its log range holding a page of its streams, not all of them', async () => {
    const { dir, want } = await storeWithoutDirectoryFiles(engine);
    const t = await openStore(dir, engine, SMALL);
    let after: string | undefined;
    for (let k = 0; k < 3; k++) {
      const page = await t.listStreams({ after, limit: 40 });
      expect(page.streams).toEqual(want.slice(40 * k, 40 * (k + 1)));
      after = page.next;
    }
    expect(directoryRebuilds.mostHeld).toBeLessThanOrEqual(MOST_HELD + 1);
    await idle(t);
    expect(await listing(t)).toEqual(want);
  }, 60_000);

  it('rebuilds instead of patching a slot too large to hold after a scavenge; versions stay exact', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, SMALL);
    await s.setStreamMetadata('aged-1', { maxAgeMs: 1 });
    await s.append('aged-1', [{ type: 'A' }]);
    await fill(s, 'x');
    for (let i = 0; i < 600; i++) await s.append(`pad-${i % 3}`, [{ type: 'Pad', data: { i, pad: 'p'.repeat(2000) } }]);
    await new Promise((r) => setTimeout(r, 5));
    const want = (await listing(s)).filter((e) => e.streamId !== 'aged-1');
    directoryRebuilds.mostHeld = 0;
    expect((await s.scavenge()).eventsRemoved).toBe(1);
    await idle(s);
    expect(directoryRebuilds.mostHeld).toBeGreaterThan(0);
    expect(directoryRebuilds.mostHeld).toBeLessThanOrEqual(MOST_HELD);
    expect(await listing(s)).toEqual(want);
    expect(chainsWhole(dir)).toBe(true);
    await expect(s.append('aged-1', [{ type: 'B' }], { expectedVersion: 'no_stream' })).rejects.toBeInstanceOf(WrongExpectedVersionError);
    expect((await s.append('aged-1', [{ type: 'B' }], { expectedVersion: 1 })).firstVersion).toBe(2);
    expect((await s.append('x-7', [{ type: 'B' }], { expectedVersion: 1 })).firstVersion).toBe(2);
  }, 60_000);
});
