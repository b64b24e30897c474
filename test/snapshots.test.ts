import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

interface Counter {
  total: number;
  seen: number;
}
const evolve = (s: Counter, e: RecordedEvent): Counter => ({ total: s.total + (e.data as number), seen: s.seen + 1 });

describe.each(ENGINES)('snapshots and aggregate (%s engine)', (engine) => {
  it('ignores and removes a damaged snapshot: the state comes from the log', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
    for (let i = 1; i <= 4; i++) await s.append('acc', [{ type: 'Add', data: i }]);
    await s.saveSnapshot('acc', 4, { total: 999, seen: 4 });
    const snapDir = path.join(dir, 'snapshots');
    const sub = fs.readdirSync(snapDir)[0] as string;
    const file = path.join(snapDir, sub, fs.readdirSync(path.join(snapDir, sub))[0] as string);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 6] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect(await s.loadSnapshot('acc')).toBeUndefined();
      expect(fs.existsSync(file)).toBe(false);
      expect((await s.aggregate('acc', { initialState: { total: 0, seen: 0 }, evolve })).state).toEqual({ total: 10, seen: 4 });
      await new Promise((r) => setImmediate(r));
      expect(warnings.some((w) => w.includes('damaged'))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
