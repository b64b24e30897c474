import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type EventStore, WrongExpectedVersionError } from '../lib/index.js';
import { scavengeRuleCache } from '../lib/scavenge.js';
import { DEFAULT_RULE_CACHE_BOUNDS, MAX_CACHED_RULE_CHARS, MAX_CACHED_RULES, RuleCache } from '../lib/scavenge-rule-cache.js';
import { Survivors } from '../lib/scavenge-survivors.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

/** A stream id of about 1000 characters (the default limit is 1024 bytes), unique per `i`. */
const longId = (i: number) => `${'l'.repeat(990)}-${i}`;

afterEach(() => {
  scavengeRuleCache.entries = MAX_CACHED_RULES;
  scavengeRuleCache.chars = MAX_CACHED_RULE_CHARS;
});

describe('a scavenge bounds its rule caches in the characters of their ids', () => {
  it('clears a rule cache before its ids pass the bound on characters, well below the bound on ids', () => {
    const cache = new RuleCache<null>();
    let cleared = 0;
    for (let i = 0; i < 20_000; i++) {
      const id = longId(i);
      if (cache.makeRoom([id])) cleared++;
      cache.set(id, null);
      expect(cache.chars).toBeLessThanOrEqual(DEFAULT_RULE_CACHE_BOUNDS.chars);
    }
    expect(cleared).toBeGreaterThan(0);
    expect(cache.size).toBeLessThan(DEFAULT_RULE_CACHE_BOUNDS.chars / 990);
  });

  it('stops remembering survivors (the directory files are rebuilt from the log) past the bound on characters', () => {
    const seen = new Survivors();
    const n = Math.ceil(MAX_CACHED_RULE_CHARS / 990) + 10;
    for (let i = 0; i < n; i++) seen.add(longId(i), i * 100, 1);
    expect(seen.complete).toBe(false);
    expect(seen.of(longId(0))).toBeUndefined();
    // Short ids, as many: within both bounds.
    const short = new Survivors();
    for (let i = 0; i < n; i++) short.add(`s-${i}`, i * 100, 1);
    expect(short.complete).toBe(true);
    expect(short.of('s-0')).toEqual([0, 1]);
  });
});

const OPTIONS = { indexMemtableEntries: 200, maxIndexSegments: 4 };
const AGED = 8;

async function pad(s: EventStore, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await s.append(`pad-${i % 3}`, [{ type: 'Pad', data: { i, pad: 'x'.repeat(2000) } }]);
}

describe.each(ENGINES)('a scavenge over long stream ids (%s engine)', (engine) => {
  it('keeps versions and expected-version checks exact when its caches forget rules by the characters of their ids', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, OPTIONS);
    for (let i = 0; i < AGED; i++) await s.setStreamMetadata(longId(i), { maxAgeMs: 1 });
    for (let i = 0; i < AGED; i++) await s.append(longId(i), [{ type: 'A' }]); // chunk 0
    await pad(s, 600);
    for (let i = 0; i < AGED; i++) await s.append(longId(i), [{ type: 'A' }]); // their last, in chunk 1
    await pad(s, 600);
    expect((await s.stats()).chunkCount).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 5));
    // Room for two of these ids' rules at once, though a hundred thousand ids would fit.
    scavengeRuleCache.chars = 2500;
    expect((await s.scavenge()).eventsRemoved).toBe(2 * AGED);
    await s.close();
    fs.rmSync(path.join(dir, 'index'), { recursive: true, force: true });
    s = await openStore(dir, engine, OPTIONS);
    for (let i = 0; i < AGED; i++) {
      expect(await s.readStream(longId(i))).toEqual([]);
      await expect(s.append(longId(i), [{ type: 'B' }], { expectedVersion: 1 })).rejects.toBeInstanceOf(WrongExpectedVersionError);
      expect((await s.append(longId(i), [{ type: 'B' }], { expectedVersion: 2 })).firstVersion).toBe(3);
    }
    expect((await s.listStreams({ prefix: 'l', limit: 1000 })).streams.map((x) => x.version)).toEqual(Array(AGED).fill(3));
    await s.close();
  }, 60_000);
});
