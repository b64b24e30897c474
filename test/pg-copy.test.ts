// `annals copy` between a store directory and a PostgreSQL store, both ways: order, versions,
// command ids (one command over several streams included), ids, data and metadata are kept; an
// interrupted copy resumes; the command prints its progress.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyStore } from '../lib/cli/copy.js';
import { EventStore } from '../lib/index.js';
import type { AnnalsStore } from '../lib/store-api.js';
import { collect, ENGINES, tempDir } from './helpers.js';
import { connectPg, newSchema, PG_SKIP, PG_URL } from './pg-helpers.js';

const CLI = path.join(import.meta.dirname, '..', 'lib', 'cli', 'main.ts');

async function fill(s: AnnalsStore): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (i === 150)
      await s.append(
        'big',
        Array.from({ length: 1500 }, (_, k) => ({ type: 'B', data: k })),
        { commandId: 'big-one' },
      );
    await s.append(
      `s-${i % 7}`,
      [
        { type: 'T', data: { i }, metadata: { m: i } },
        { type: 'U', data: new Uint8Array([i & 255, 0]) },
      ],
      {
        ...(i % 3 === 0 ? { commandId: `c-${i}` } : {}),
      },
    );
  }
  await s.appendMany(
    [
      { streamId: 'acct-1', events: [{ type: 'Debited', id: 'given-id-1' }] },
      { streamId: 'acct-2', events: [{ type: 'Credited' }] },
    ],
    { commandId: 'transfer-1' },
  );
}

const shape = (e: {
  streamId: string;
  version: number;
  type: string;
  data: unknown;
  metadata: unknown;
  id: string;
  commandId?: string;
}) => ({
  streamId: e.streamId,
  version: e.version,
  type: e.type,
  data: e.data,
  metadata: e.metadata,
  id: e.id,
  commandId: e.commandId,
});

describe.skipIf(PG_SKIP !== undefined)(`annals copy${PG_SKIP ? ` (skipped: ${PG_SKIP})` : ''}`, () => {
  it('copies a directory into PostgreSQL and back, resuming an interrupted copy, keeping everything but positions', {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    const source = await EventStore.open(dir, { engine: ENGINES[0], chunkSize: 1 << 20 });
    await fill(source);
    const expected = (await collect(source.readAll())).map(shape);
    const schema = newSchema();
    const pg = await connectPg(schema);
    const partial = await copyStore(source, pg, { maxEvents: 777 });
    expect(partial.copied).toBeGreaterThan(0);
    expect(partial.copied).toBeLessThan(expected.length);
    const rest = await copyStore(source, pg);
    expect(rest.copied + rest.skipped).toBe(expected.length);
    expect(rest.skipped).toBe(partial.copied);
    expect((await collect(pg.readAll())).map(shape)).toEqual(expected);
    expect((await pg.readCommand('transfer-1'))?.map((e) => e.streamId)).toEqual(['acct-1', 'acct-2']);
    await expect(pg.append('x', [{ type: 'T' }], { commandId: 'c-3' })).rejects.toMatchObject({ code: 'DUPLICATE_COMMAND' });
    await source.close();

    // Back into a new directory, by the command, twice: the second run finds everything there.
    const back = tempDir();
    const run = () =>
      spawnSync(process.execPath, ['--import', 'tsx', CLI, 'copy', PG_URL, back, '--from-schema', schema], {
        encoding: 'utf8',
        timeout: 120_000,
      });
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain(`copied ${expected.length} events, skipped 0`);
    const again = run();
    expect(again.stderr).toContain(`copied 0 events, skipped ${expected.length}`);
    const copy = await EventStore.open(back, { readOnly: true });
    expect((await collect(copy.readAll())).map(shape)).toEqual(expected);
    expect((await copy.readCommand('transfer-1'))?.map((e) => e.streamId)).toEqual(['acct-1', 'acct-2']);
    await copy.close();
  });

  it('refuses to copy into a stream that holds other events', async () => {
    const dir = tempDir();
    const source = await EventStore.open(dir, { engine: ENGINES[0], chunkSize: 1 << 20 });
    await source.append('a', [{ type: 'T' }, { type: 'T' }]);
    await source.append('a', [{ type: 'T' }]);
    const pg = await connectPg(newSchema());
    await pg.append('a', [{ type: 'Other' }]);
    await expect(copyStore(source, pg)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await source.close();
  });

  it('keeps stream metadata and deletes both ways: hidden events are copied so versions go on, the rules applied after them', {
    timeout: 60_000,
  }, async () => {
    const source = await EventStore.open(tempDir(), { engine: ENGINES[0], chunkSize: 1 << 20 });
    for (let i = 0; i < 5; i++)
      for (const id of ['soft-1', 'hard-1', 'kept-1', 'capped-1']) await source.append(id, [{ type: 'T', data: i }]);
    await source.deleteStream('soft-1');
    await source.append('soft-1', [{ type: 'Again' }], { expectedVersion: 'no_stream' });
    await source.deleteStream('hard-1', { hard: true });
    await source.setStreamMetadata('capped-1', { maxCount: 2 });
    const visible = async (s: AnnalsStore) => (await collect(s.readAll())).map((e) => `${e.streamId}@${e.version}`);
    const rules = async (s: AnnalsStore) => Promise.all(['soft-1', 'hard-1', 'kept-1', 'capped-1'].map((id) => s.getStreamMetadata(id)));
    const want = await visible(source);
    expect(want).toContain('soft-1@6');
    const pg = await connectPg(newSchema());
    expect((await copyStore(source, pg)).metadata).toBe(3);
    expect(await visible(pg)).toEqual(want);
    expect(await rules(pg)).toEqual(await rules(source));
    await expect(pg.append('hard-1', [{ type: 'T' }])).rejects.toMatchObject({ code: 'STREAM_DELETED' });
    expect((await pg.append('soft-1', [{ type: 'T' }], { expectedVersion: 6 })).lastVersion).toBe(7);
    expect(await copyStore(source, pg)).toMatchObject({ copied: 0, metadata: 0 });

    const back = await EventStore.open(tempDir(), { engine: ENGINES[0], chunkSize: 1 << 20 });
    expect((await copyStore(pg, back)).metadata).toBe(3);
    expect(await visible(back)).toEqual(await visible(pg));
    expect(await rules(back)).toEqual(await rules(pg));
    await expect(back.append('hard-1', [{ type: 'T' }])).rejects.toMatchObject({ code: 'STREAM_DELETED' });
    await source.close();
    await back.close();
  });
});
