import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventStore } from '../lib/index.js';
import { scavengeRuleCache } from '../lib/scavenge.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

const OPTIONS = { indexMemtableEntries: 200, maxIndexSegments: 4 };
const PAD = 'x'.repeat(2000);
const AGED = 8;

async function pad(s: EventStore, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await s.append(`pad-${i % 3}`, [{ type: 'Pad', data: { i, pad: PAD } }]);
}

afterEach(() => {
  scavengeRuleCache.entries = 100_000;
});

describe.each(ENGINES)('version floors when a scavenge forgets the rules it met (%s engine)', (engine) => {
  it('raises the floor of every stream whose last event goes, though its rules were met in an earlier chunk and forgotten since', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, OPTIONS);
    // Rules written before the events: only the scavenge knows the streams' last versions go.
    for (let i = 0; i < AGED; i++) await s.setStreamMetadata(`aged-${i}`, { maxAgeMs: 1 });
    for (let i = 0; i < AGED; i++) await s.append(`aged-${i}`, [{ type: 'A' }]); // chunk 0
    await pad(s, 600); // into chunk 1
    for (let i = 0; i < AGED; i++) await s.append(`aged-${i}`, [{ type: 'A' }]); // their last, in chunk 1
    await pad(s, 600); // chunk 1 sealed
    expect((await s.stats()).chunkCount).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 5));
    // The store's side keeps 2 streams' rules at once: met in chunk 0, most are forgotten before
    // chunk 1, where their last events are.
    scavengeRuleCache.entries = 2;
    expect((await s.scavenge()).eventsRemoved).toBe(2 * AGED);
    await s.close();
    fs.rmSync(path.join(dir, 'index'), { recursive: true, force: true });
    s = await openStore(dir, engine, OPTIONS);
    for (let i = 0; i < AGED; i++) {
      expect(await s.readStream(`aged-${i}`)).toEqual([]);
      expect((await s.append(`aged-${i}`, [{ type: 'B' }])).firstVersion).toBe(3);
    }
    await s.close();
  });
});
