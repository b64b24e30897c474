import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EventStore, type RecordedEvent, verifyStore } from '../lib/index.js';
import { chunkPath, collect, ENGINES, MiB, openStore, tempDir } from './helpers.js';

/** Appends `appends` two-event appends (command ids from `from` on), 50 to a call. */
async function fill(store: EventStore, appends: number, from = 0): Promise<void> {
  for (let i = from; i < from + appends; i += 50) {
    const items = [];
    for (let j = i; j < Math.min(i + 50, from + appends); j++) {
      const data = { j, pad: 'x'.repeat(400 + (j % 7) * 50) };
      items.push({
        streamId: `s-${j % 11}`,
        events: [
          { type: 'A', data },
          { type: 'B', data: new Uint8Array([j & 255, 7]) },
        ],
        commandId: `c-${j}`,
      });
    }
    await store.appendMany(items);
  }
}

/** Events as comparable values (positions, versions, ids, payloads). */
function comparable(events: RecordedEvent[]): unknown[] {
  return events.map((e) => [e.position, e.streamId, e.version, e.type, e.id, e.commandId, e.timestamp, e.data, e.metadata]);
}

function allocated(file: string): number {
  return fs.statSync(file).blocks * 512;
}

describe.each(ENGINES)('store.backup (%s engine)', (engine) => {
  it('copies a store that opens with the same events, index and snapshots, as sparse as the data', async () => {
    const dir = tempDir();
    const store = await openStore(dir, engine, { indexMemtableEntries: 200 });
    await fill(store, 3000);
    await store.saveSnapshot('s-3', 50, { folded: 50 });
    const source = await store.stats();
    expect(source.chunkCount).toBeGreaterThan(1);
    const target = path.join(tempDir(), 'backup');
    const seen: [number, number][] = [];
    const result = await store.backup(target, { onProgress: (done, total) => seen.push([done, total]) });
    expect(result).toMatchObject({ directory: target, endPosition: source.endPosition, chunks: source.chunkCount, snapshots: 1 });
    expect(result.segments).toBeGreaterThan(0);
    expect(seen.length).toBeGreaterThan(0);
    const [done, total] = seen[seen.length - 1] as [number, number];
    expect(done).toBe(total);
    expect(done).toBe(result.bytes);
    expect(fs.readdirSync(path.dirname(target))).toEqual(['backup']);

    expect(verifyStore(target).faults).toEqual([]);
    // Every chunk keeps the chunk size, and takes only the blocks its data needs.
    for (let n = 0; n < source.chunkCount; n++) {
      expect(fs.statSync(chunkPath(target, n)).size).toBe(MiB);
      expect(allocated(chunkPath(target, n))).toBeLessThanOrEqual(allocated(chunkPath(dir, n)));
    }
    const copy = await openStore(target, engine);
    const copied = await copy.stats();
    expect(copied).toMatchObject({ eventCount: 6000, streamCount: 11, commandCount: 3000, endPosition: source.endPosition });
    expect(copied.recovery.torn).toBe(false);
    expect(copied.index.streamSegments).toBeGreaterThan(0);
    expect(copied.index.brokenSegments).toBe(0);
    // Every kind of index file is copied, each kind's chain ending where the others' do.
    const indexFiles = fs.readdirSync(path.join(target, 'index'));
    for (const kind of ['stream', 'command', 'category', 'type', 'directory']) {
      expect(
        indexFiles.some((n) => n.startsWith(`${kind}-`)),
        kind,
      ).toBe(true);
    }
    const ends = new Set(
      ['stream', 'command', 'category', 'type', 'directory'].map((k) =>
        indexFiles
          .filter((n) => n.startsWith(`${k}-`))
          .map((n) => n.split(/[-.]/)[2])
          .sort()
          .at(-1),
      ),
    );
    expect(ends.size).toBe(1);
    expect((await copy.listStreams()).streams).toHaveLength(11);
    expect(await collect(copy.readCategory('s'))).toHaveLength(6000);
    // The source as it is now: index segments may have been built since its stats above.
    expect(copied.bytesOnDisk).toBeLessThanOrEqual((await store.stats()).bytesOnDisk);
    expect(comparable(await collect(copy.readAll()))).toEqual(comparable(await collect(store.readAll())));
    expect(await copy.loadSnapshot('s-3')).toEqual({ version: 50, state: { folded: 50 } });
    expect((await copy.readCommand('c-77'))?.map((e) => e.type)).toEqual(['A', 'B']);
    // The copy is a store of its own: it takes appends after what it holds.
    const next = await copy.append('s-1', [{ type: 'After' }], { expectedVersion: 546 });
    expect(next.firstVersion).toBe(547);
    await copy.close();
    expect(verifyStore(target).faults).toEqual([]);
  });

  it('taken while appends go on, holds a consistent prefix: every acknowledged append, whole appends only', async () => {
    const dir = tempDir();
    const store = await openStore(dir, engine, { indexMemtableEntries: 300 });
    await fill(store, 300);
    const acknowledged: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const id = `w${w}-${i}`;
        const events = Array.from({ length: 1 + (i % 5) }, (_, k) => ({ type: 'Live', data: { id, k, pad: 'y'.repeat(300) } }));
        await store.append(`live-${w}`, events, { commandId: id, expectedVersion: i === 0 ? 'no_stream' : 'stream_exists' });
        acknowledged.push(id);
      }
    });
    while (acknowledged.length < 200) await new Promise((r) => setTimeout(r, 1));
    const before = new Set(acknowledged);
    const target = path.join(tempDir(), 'live-backup');
    const result = await store.backup(target);
    const during = acknowledged.length;
    while (acknowledged.length < during + 200) await new Promise((r) => setTimeout(r, 1));
    stop = true;
    await Promise.all(writers);

    const all = await collect(store.readAll());
    const copy = await openStore(target, engine);
    const held = await collect(copy.readAll());
    // A prefix of the live store's log, ending where the backup says.
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThan(all.length);
    expect(comparable(held)).toEqual(comparable(all.slice(0, held.length)));
    expect(all[held.length]?.position).toBeGreaterThanOrEqual(result.endPosition);
    const commands = new Map<string, number>();
    for (const e of held) if (e.commandId?.startsWith('w')) commands.set(e.commandId, (commands.get(e.commandId) ?? 0) + 1);
    for (const id of before) expect(commands.has(id), id).toBe(true);
    for (const [id, count] of commands) expect(count, id).toBe(1 + (Number(id.split('-')[1]) % 5));
    expect(during, 'appends acknowledged while the backup ran').toBeGreaterThan(before.size);
    // The copy's index agrees with its log: each stream reads back as the log holds it.
    for (const streamId of [...Array.from({ length: 4 }, (_, w) => `live-${w}`), 's-0', 's-10']) {
      const expected = held.filter((e) => e.streamId === streamId);
      expect(comparable(await copy.readStream(streamId)), streamId).toEqual(comparable(expected));
    }
    expect((await copy.stats()).eventCount).toBe(held.length);
    expect(verifyStore(target).faults).toEqual([]);
  });

  it('backs up a read-only store and an empty one', async () => {
    const dir = tempDir();
    const writer = await openStore(dir, engine);
    await fill(writer, 40);
    // Not following: what is appended after the read-only open is not in its view, nor in its backup.
    const reader = await openStore(dir, engine, { readOnly: true, followIntervalMs: 0 });
    await fill(writer, 10, 40);
    const target = path.join(tempDir(), 'ro');
    await reader.backup(target);
    const copy = await openStore(target, engine, { readOnly: true });
    expect((await copy.stats()).eventCount).toBe(80);
    const empty = await openStore(tempDir(), engine);
    const emptyTarget = path.join(tempDir(), 'empty');
    expect((await empty.backup(emptyTarget)).chunks).toBe(1); // a new store's first chunk, with no event
    const reopened = await openStore(emptyTarget, engine);
    expect((await reopened.stats()).eventCount).toBe(0);
    await reopened.append('x', [{ type: 'T' }]);
    expect(await reopened.streamVersion('x')).toBe(1);
  });

  it('refuses a target that is not empty, a file, inside the store, or not a path, and leaves nothing behind', async () => {
    const dir = tempDir();
    const store = await openStore(dir, engine);
    await fill(store, 5);
    const base = tempDir();
    const full = path.join(base, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'keep.txt'), 'mine');
    const file = path.join(base, 'file');
    fs.writeFileSync(file, 'mine');
    const cases: [unknown, unknown, RegExp][] = [
      [full, {}, /not empty/],
      [file, {}, /not a directory/],
      [path.join(file, 'sub'), {}, /not a directory/],
      [dir, {}, /inside the store/],
      [path.join(dir, 'chunks', 'x'), {}, /inside the store/],
      ['', {}, /got the string ""/],
      [42, {}, /got the number 42/],
      [path.join(base, 'ok'), { onprogress: () => {} }, /'onprogress'/],
      [path.join(base, 'ok'), { onProgress: 'yes' }, /got the string "yes"/],
    ];
    for (const [target, options, message] of cases) {
      const err = await store.backup(target as string, options as never).catch((e: unknown) => e as { code: string; message: string });
      expect(err, String(target)).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
    }
    expect(fs.readFileSync(path.join(full, 'keep.txt'), 'utf8')).toBe('mine');
    expect(fs.readFileSync(file, 'utf8')).toBe('mine');
    expect(fs.readdirSync(base).sort()).toEqual(['file', 'full']);
    expect(fs.readdirSync(dir).filter((n) => !/^LOCK/.test(n))).toEqual(['chunks', 'index']);
    // An empty directory is a fine target.
    const emptyDir = path.join(base, 'empty');
    fs.mkdirSync(emptyDir);
    await store.backup(emptyDir);
    expect(verifyStore(emptyDir).ok).toBe(true);
    await store.close();
    await expect(store.backup(path.join(base, 'late'))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
