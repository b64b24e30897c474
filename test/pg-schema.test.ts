// The PostgreSQL store's schema: created by the first connect, migrated from an older version by
// the next, once however many processes connect at once, and refused when newer than the library.
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../lib/postgres/schema.js';
import { adminQuery, connectPg, newSchema, PG_SKIP } from './pg-helpers.js';

describe.skipIf(PG_SKIP !== undefined)(`PostgreSQL schema${PG_SKIP ? ` (skipped: ${PG_SKIP})` : ''}`, () => {
  it('applies each migration once, also to concurrent connects, and migrates an older schema', async () => {
    const schema = newSchema();
    const stores = await Promise.all(Array.from({ length: 5 }, () => connectPg(schema)));
    const versions = async () =>
      (await adminQuery(`SELECT version FROM "${schema}".migrations ORDER BY version`)).rows.map((r) => r.version);
    expect(await versions()).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    await stores[0]!.append('a', [{ type: 'T' }]);
    // Back to version 1, as an older library left it: the next connect brings it up to date.
    await adminQuery(`DROP FUNCTION "${schema}".append_one`);
    await adminQuery(`DELETE FROM "${schema}".migrations WHERE version > 1`);
    const again = await connectPg(schema);
    expect(await versions()).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    await again.append('a', [{ type: 'T' }], { expectedVersion: 1 });
    expect(await again.streamVersion('a')).toBe(2);
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
