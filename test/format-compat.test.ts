/**
 * A store written in format version 1 (frame kind 1 bodies, version 1 chunk header and checkpoint)
 * by the build before the compact body: test/fixtures/format-v1-store, made with the JS engine and a
 * 1 MiB chunk. Both engines must read it as written, append compact (kind 2) frames behind its
 * records, and read both kinds back after a reopen.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RECORD_KIND_EVENT, RECORD_KIND_EVENT_V1 } from '../lib/format/layout.js';
import { verifyStore } from '../lib/verify.js';
import { chunkPath, collect, ENGINES, openStore, tempDir } from './helpers.js';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'format-v1-store');

function copyFixture(): string {
  const dir = tempDir();
  fs.cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

describe.each(ENGINES)('format version 1 stores (%s engine)', (engine) => {
  it('reads every field as version 1 wrote it', async () => {
    const s = await openStore(copyFixture(), engine);
    const order1 = await s.readStream('order-1');
    expect(order1.map(({ position, timestamp, ...e }) => e)).toEqual([
      {
        streamId: 'order-1',
        version: 1,
        type: 'OrderPlaced',
        data: { items: 3, note: 'héllo' },
        metadata: { user: 'ada' },
        id: '6f9619ff-8b86-4d01-b42d-00c04fc964ff',
        commandId: 'place-1',
      },
      {
        streamId: 'order-1',
        version: 2,
        type: 'OrderPaid',
        data: new Uint8Array([1, 2, 3]),
        metadata: undefined,
        id: 'not-a-uuid',
        commandId: 'place-1',
      },
      {
        streamId: 'order-1',
        version: 3,
        type: 'OrderShipped',
        data: { by: 'post' },
        metadata: undefined,
        id: '6F9619FF-8B86-4D01-B42D-00C04FC964FF',
        commandId: 'ship-1',
      },
    ]);
    for (const e of order1) expect(e.timestamp).toBeGreaterThan(Date.UTC(2026, 0, 1));
    expect((await s.readEvent('order-2', 1))?.type).toBe('OrderPlaced');
    expect((await s.readCommand('place-1'))?.map((e) => e.version)).toEqual([1, 2]);
    expect((await collect(s.readAll())).length).toBe(4);
  });

  it('appends compact frames behind version 1 records and reads both after a reopen', async () => {
    const dir = copyFixture();
    let s = await openStore(dir, engine);
    await expect(s.append('order-1', [{ type: 'Late' }], { expectedVersion: 2 })).rejects.toThrow();
    const r = await s.append('order-1', [{ type: 'OrderClosed', data: { ok: true } }], { expectedVersion: 3, commandId: 'close-1' });
    await s.append('order-3', [{ type: 'OrderPlaced', data: { items: 1 } }], { expectedVersion: 'no_stream' });
    await s.close();
    expect(verifyStore(dir).faults).toEqual([]);
    s = await openStore(dir, engine);
    expect((await s.readStream('order-1')).map((e) => [e.version, e.type])).toEqual([
      [1, 'OrderPlaced'],
      [2, 'OrderPaid'],
      [3, 'OrderShipped'],
      [4, 'OrderClosed'],
    ]);
    expect((await s.readCommand('close-1'))?.[0]?.data).toEqual({ ok: true });
    const all = await collect(s.readAll());
    expect(all.map((e) => e.streamId)).toEqual(['order-1', 'order-1', 'order-2', 'order-1', 'order-1', 'order-3']);
    const chunk = fs.readFileSync(chunkPath(dir));
    expect(all.map((e) => chunk[e.position + 8])).toEqual([
      RECORD_KIND_EVENT_V1,
      RECORD_KIND_EVENT_V1,
      RECORD_KIND_EVENT_V1,
      RECORD_KIND_EVENT_V1,
      RECORD_KIND_EVENT,
      RECORD_KIND_EVENT,
    ]);
    expect(all[4]?.position).toBe(r.position);
  });

  it('stores random ids in the old tail chunk and derives them from the first chunk with an identity', async () => {
    const dir = copyFixture();
    let s = await openStore(dir, engine);
    await s.append('late', [{ type: 'InOldChunk' }]);
    // 1 MiB chunks: these fill the old tail and roll the log into chunk 1 (a version 3 header).
    for (let i = 0; i < 6; i++) await s.append('late', [{ type: 'Big', data: new Uint8Array(200_000) }]);
    await s.append('late', [{ type: 'InNewChunk' }]);
    const before = await s.readStream('late');
    await s.close();
    expect(verifyStore(dir).faults).toEqual([]);
    const header = fs.readFileSync(chunkPath(dir, 1)).subarray(0, 64);
    expect(header[8]).toBe(3);
    expect(header.readUInt32LE(40)).toBeGreaterThan(0);
    expect(fs.readFileSync(chunkPath(dir, 0))[8]).toBe(1); // the old chunk keeps its header
    for (const other of ENGINES) {
      s = await openStore(dir, other);
      const events = await s.readStream('late');
      expect(events.map((e) => e.id)).toEqual(before.map((e) => e.id));
      await s.close();
    }
    const first = before[0] as (typeof before)[number];
    const last = before[before.length - 1] as (typeof before)[number];
    expect(Math.floor(first.position / (1 << 20))).toBe(0);
    expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4/);
    expect(Math.floor(last.position / (1 << 20))).toBeGreaterThan(0);
    expect(last.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });
});
