// The PostgreSQL store's schema: created by the first connect, migrated from an older version by
// the next, once however many processes connect at once, and refused when newer than the library.
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../lib/postgres/schema.js';
import { collect } from './helpers.js';
import { adminQuery, connectPg, newSchema, PG_SKIP } from './pg-helpers.js';

describe.skipIf(PG_SKIP !== undefined)(`PostgreSQL schema${PG_SKIP ? ` (skipped: ${PG_SKIP})` : ''}`, () => {
  it('applies each migration once, also to concurrent connects, and migrates an older schema', async () => {
    const schema = newSchema();
    const stores = await Promise.all(Array.from({ length: 5 }, () => connectPg(schema)));
    const versions = async () =>
      (await adminQuery(`SELECT version FROM "${schema}".migrations ORDER BY version`)).rows.map((r) => r.version);
    expect(await versions()).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    await stores[0]!.append('order-1', [{ type: 'T' }]);
    for (const s of stores) await s.close();
    // Back to version 1, as an older library left it (with events written then): the next connect
    // brings it up to date, and migration 3 indexes the events already there.
    const q = `"${schema}"`;
    await adminQuery(`DROP FUNCTION ${q}.append_one`);
    await adminQuery(`ALTER TABLE ${q}.events DROP COLUMN category`);
    await adminQuery(`ALTER TABLE ${q}.streams DROP COLUMN first_position`);
    await adminQuery(`DROP INDEX ${q}.events_type, ${q}.streams_ids`);
    await adminQuery(`DROP TABLE ${q}.stream_meta, ${q}.consumers`);
    await adminQuery(`DELETE FROM "${schema}".migrations WHERE version > 1`);
    const again = await connectPg(schema);
    expect(await versions()).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    await again.append('order-1', [{ type: 'T' }], { expectedVersion: 1 });
    expect(await again.streamVersion('order-1')).toBe(2);
    expect((await collect(again.readCategory('order'))).map((e) => e.version)).toEqual([1, 2]);
    expect((await collect(again.readByType('T'))).map((e) => e.version)).toEqual([1, 2]);
    const [listed] = (await again.listStreams()).streams;
    const events = await again.readStream('order-1');
    expect(listed).toEqual({ streamId: 'order-1', version: 2, firstPosition: events[0]?.position, lastPosition: events[1]?.position });
  });

  it('refuses a schema newer than the library, and a read-only connect to a missing one', async () => {
    const schema = newSchema();
    await (await connectPg(schema)).close();
    await adminQuery(`INSERT INTO "${schema}".migrations (version) VALUES (${SCHEMA_VERSION + 1})`);
    await expect(connectPg(schema)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/newer/) });
    await expect(connectPg(newSchema(), { readOnly: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(connectPg('Bad-Name')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('a read-only store reads and refuses writes', async () => {
    const schema = newSchema();
    const w = await connectPg(schema);
    await w.append('a', [{ type: 'T', data: 1 }]);
    const r = await connectPg(schema, { readOnly: true });
    expect((await r.readStream('a'))[0]?.data).toBe(1);
    await expect(r.append('a', [{ type: 'T' }])).rejects.toMatchObject({ code: 'READ_ONLY' });
    await expect(r.saveSnapshot('a', 1, {})).rejects.toMatchObject({ code: 'READ_ONLY' });
    await expect(r.deleteStream('a')).rejects.toMatchObject({ code: 'READ_ONLY' });
    await expect(r.setStreamMetadata('a', {})).rejects.toMatchObject({ code: 'READ_ONLY' });
    await expect(r.resetConsumer('c', 0)).rejects.toMatchObject({ code: 'READ_ONLY' });
    expect(() => r.subscribe({ consumer: 'c' })).toThrow(expect.objectContaining({ code: 'READ_ONLY' }));
    await w.setStreamMetadata('a', { maxCount: 1 });
    expect(await r.getStreamMetadata('a')).toEqual({ maxCount: 1 });
  });

  it('refuses U+0000 in ids, which PostgreSQL text cannot hold, and writes nothing', async () => {
    const s = await connectPg(newSchema());
    await expect(s.append('a\u0000b', [{ type: 'T' }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(s.append('a', [{ type: 'T\u0000' }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(s.append('a', [{ type: 'T', id: '\u0000' }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(s.append('a', [{ type: 'T' }], { commandId: 'c\u0000' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await s.append('a', [{ type: 'T', data: 'text with \u0000 inside' }]);
    expect((await s.readStream('a')).map((e) => e.data)).toEqual(['text with \u0000 inside']);
  });
});
