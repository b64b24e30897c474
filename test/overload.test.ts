import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LimitExceededError } from '../lib/index.js';
import { collect, ENGINES, openStore, tempDir } from './helpers.js';

describe.each(ENGINES)('bounded memory under overload (%s engine)', (engine) => {
  // Appends made in one burst without awaiting were all encoded before the first was written: a
  // burst of any size was held in memory at once. Past the bound they now wait, unencoded.
  it('past limits.maxPendingBytes appends wait, in call order, and all complete', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, { limits: { maxPendingBytes: 1 << 20 } });
    await s.append('warm', [{ type: 'x', data: {} }]);
    // The queue's bytes, measured after every submission to the writer (its `pending` queue).
    type Writer = { pending: { txs: { buf: Buffer }[] }[]; submit: (...a: unknown[]) => unknown };
    const writer = (s as unknown as { writer: Writer }).writer;
    const submit = writer.submit.bind(writer);
    let peak = 0;
    writer.submit = (...a: unknown[]) => {
      const r = submit(...a);
      peak = Math.max(
        peak,
        writer.pending.reduce((n, p) => n + p.txs.reduce((m, t) => m + t.buf.length, 0), 0),
      );
      return r;
    };
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        s.append(`s-${i}`, [{ type: 'blob', data: new Uint8Array(64 << 10).fill(i) }], { commandId: `c-${i}` }),
      ),
    );
    // Positions follow call order: waiting kept it.
    expect(results.map((r) => r.position)).toEqual([...results.map((r) => r.position)].sort((a, b) => a - b));
    expect(peak).toBeLessThan((1 << 20) + (70 << 10));
    await s.close();
    const t = await openStore(dir, engine);
    expect((await collect(t.readAll())).length).toBe(201);
  });

  it('refuses limits.maxPendingBytes that is not a positive integer', async () => {
    for (const bad of [0, -1, 1.5, '1', Number.NaN]) {
      await expect(openStore(tempDir(), engine, { limits: { maxPendingBytes: bad as number } })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
  });

  // Full memtables wait in memory for their segment build; with builds failing they piled up
  // without end. Past a few, appends wait for the index to catch up, and go on once it does.
  it('appends wait while index builds fail and memtables pile up, and go on when builds succeed', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, { indexMemtableEntries: 20 });
    const indexDir = path.join(dir, 'index');
    fs.rmSync(indexDir, { recursive: true });
    fs.writeFileSync(indexDir, 'not a directory');
    let acked = 0;
    let last: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < 100; i++) {
      last = s.append('s', [{ type: 'x', data: { i } }]).then(() => acked++);
      await Promise.race([last, new Promise((r) => setTimeout(r, 50))]);
    }
    // Two entries an append, and the type's list once a memtable (NEW_KEY_BYTES, about 3 entries):
    // nine appends a memtable; the memtables MAX_FROZEN_MEMTABLES (2) lets wait for their build
    // take about 18 appends before the rest wait.
    expect(acked).toBeGreaterThanOrEqual(15);
    expect(acked).toBeLessThan(100); // the rest wait
    fs.rmSync(indexDir);
    fs.mkdirSync(indexDir);
    await last;
    expect(acked).toBe(100);
    await s.close();
    const t = await openStore(dir, engine);
    const events = await t.readStream('s');
    expect(events.map((e) => (e.data as { i: number }).i)).toEqual([...Array(100).keys()]);
  });

  it('an append that cannot get room within the bound rejects with LIMIT_EXCEEDED', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, { indexMemtableEntries: 20 });
    const indexDir = path.join(dir, 'index');
    fs.rmSync(indexDir, { recursive: true });
    fs.writeFileSync(indexDir, 'not a directory');
    let refusal: unknown;
    for (let i = 0; i < 200 && !refusal; i++) {
      await s.append('s', [{ type: 'x', data: { i } }]).catch((e: unknown) => {
        refusal = e;
      });
    }
    expect(refusal).toBeInstanceOf(LimitExceededError);
    expect((refusal as Error).message).toMatch(/memtables wait to be built/);
    fs.rmSync(indexDir);
    fs.mkdirSync(indexDir);
  }, 30_000);
});
