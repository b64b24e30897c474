import { describe, expect, it } from 'vitest';
import { EventStore } from '../lib/index.js';
import { ENGINES, tempDir } from './helpers.js';

const _bad = [undefined, null, '', 42, -1, 1.5, Number.NaN, {}, [], () => 1, 'a\ud800'];

describe.each(ENGINES)('bad input (%s engine)', (engine) => {
  it('open rejects bad options with INVALID_ARGUMENT', async () => {
    const dir = tempDir();
    const cases: unknown[] = [
      { engine: 'rust' },
      { chunkSize: 1000 },
      { chunkSize: (1 << 20) + 1 },
      { durability: 'maybe' },
      { flushIntervalMs: 0 },
      { flushPollMicros: -1 },
      { flushPollMicros: 0.5 },
      { flushPollMicros: 1_000_001 },
      { commandLookup: 'cloud' },
      { retentionMs: -5 },
      { maxRecentCommands: 0 },
      { maxRecentStreams: -1 },
      { maxRecentCommands: 2.5 },
      { limits: { maxEventBytes: 0 } },
      { readOnly: 'no' },
      { indexMemtableEntries: 1.5 },
      { maxIndexSegments: 1 },
      'options',
    ];
    for (const c of cases) {
      await expect(EventStore.open(dir, c as never), JSON.stringify(c)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(EventStore.open('', { engine })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(EventStore.open(`${dir}/missing`, { engine, readOnly: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
