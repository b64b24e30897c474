import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnnalsError, EventStore } from '../lib/index.js';
import { verifyStore } from '../lib/verify.js';
import { collect, ENGINES, openStore, tempDir } from './helpers.js';

const OPTS = { chunkSize: 1 << 20, indexMemtableEntries: 50, maxIndexSegments: 4 };

describe.each(ENGINES)('random damage (%s engine)', (engine) => {
  it('whatever bytes are damaged, the store only ever fails with typed errors and verify names a file', async () => {
    const base = tempDir();
    const s = await openStore(base, engine, OPTS);
    for (let i = 0; i < 120; i++)
      await s.append(`s-${i % 5}`, [{ type: 'T', data: { i, pad: 'p'.repeat(3000) } }], { commandId: `c-${i}` });
    await s.saveSnapshot('s-1', 3, { x: 1 });
    await s.close();
    const all = fs
      .readdirSync(base, { recursive: true })
      .map(String)
      .filter((f) => fs.statSync(path.join(base, f)).isFile() && !f.endsWith('LOCK'));
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    let untyped = 0;
    for (let round = 0; round < 25; round++) {
      const dir = tempDir();
      fs.cpSync(base, dir, { recursive: true });
      const file = path.join(dir, all[rand(all.length)] as string);
      const size = fs.statSync(file).size;
      const fd = fs.openSync(file, 'r+');
      for (let k = 0; k < 1 + rand(8); k++) fs.writeSync(fd, Buffer.from([rand(256)]), 0, 1, rand(Math.max(1, Math.min(size, 200_000))));
      fs.closeSync(fd);
      try {
        const t = await EventStore.open(dir, { engine, ...OPTS });
        try {
          await collect(t.readAll());
          for (let k = 0; k < 5; k++) await t.readStream(`s-${k}`);
          for (let i = 0; i < 120; i += 7) await t.readCommand(`c-${i}`);
          await t.aggregate('s-1', { initialState: 0, evolve: (n: number) => n + 1 });
          await t.append('s-0', [{ type: 'after' }]);
        } finally {
          await t.close();
        }
      } catch (err) {
        if (!(err instanceof AnnalsError)) untyped++;
        expect(err, `round ${round}: ${String(err)}`).toBeInstanceOf(AnnalsError);
      }
      for (const f of verifyStore(dir).faults) expect(f.file.startsWith(dir)).toBe(true);
    }
    expect(untyped).toBe(0);
  });
});
