/**
 * Command lookups after a scavenge removed some commands' events, the command segments searched
 * through the native engine's chain and the JS engine's slot-by-slot loop: both engines give the
 * same answers, and a retry of an erased command is still refused.
 */
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

const OPTIONS = { chunkSize: 1024 * 1024, indexMemtableEntries: 64, maxRecentCommands: 16, maxIndexSegments: 6 };

async function settle(s: EventStore): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
  await (s as any).index.idle();
}

async function answers(engine: (typeof ENGINES)[number]): Promise<string[]> {
  const dir = tempDir();
  let s = await openStore(dir, engine, OPTIONS);
  for (let i = 0; i < 10; i++) await s.setStreamMetadata(`aged-${i}`, { maxCount: 2 });
  for (let r = 0; r < 30; r++) {
    for (let i = 0; i < 10; i++) {
      const n = r % 10 === 3 ? 270 : 1 + (r % 2);
      const events = Array.from({ length: n }, (_, k) => ({ type: 'T', data: { r, k, pad: 'x'.repeat(n > 10 ? 100 : 3000) } }));
      await s.append(i % 2 ? `aged-${i}` : `kept-${i}`, events, { commandId: `c-${r}-${i}` });
    }
  }
  await settle(s);
  const out: string[] = [];
  const probe = async (label: string) => {
    for (let r = 0; r < 30; r++) {
      for (let i = 0; i < 10; i++) {
        const id = `c-${r}-${i}`;
        const events = await s.readCommand(id);
        out.push(`${label} ${id} ${events === undefined ? 'none' : events.map((e) => `${e.streamId}@${e.version}`).join(',')}`);
      }
    }
    for (let r = 0; r < 30; r += 7) {
      const dup = await s.append(`retry-${label}`, [{ type: 'R' }], { commandId: `c-${r}-1` }).then(
        () => 'written',
        (e: unknown) => (e as { code: string }).code,
      );
      out.push(`${label} retry c-${r}-1 ${dup}`);
    }
  };
  await probe('before');
  const result = await s.scavenge();
  expect(result.eventsRemoved).toBeGreaterThan(0);
  await settle(s);
  await probe('after');
  await s.close();
  s = await openStore(dir, engine, OPTIONS);
  await probe('reopened');
  await s.close();
  return out;
}

describe('command lookups across a scavenge', () => {
  it('give the same answers in both engines', async () => {
    const all = await Promise.all(ENGINES.map((e) => answers(e)));
    for (const a of all.slice(1)) expect(a).toEqual(all[0]);
    expect((all[0] as string[]).filter((l) => l.includes('retry') && !l.endsWith('DUPLICATE_COMMAND'))).toEqual([]);
    // Commands of the aged streams past their maxCount are hidden (then removed): some answers are none.
    expect((all[0] as string[]).some((l) => l.startsWith('after ') && l.endsWith(' none'))).toBe(true);
  }, 120_000);
});
