/**
 * The connection pool of a PostgreSQL store: connects, then creates or migrates the store's schema
 * (a read-only store only checks it exists), retrying while the server is out of reach for
 * `reconnectTimeoutMs`, then failing with UnavailableError (pg-errors.ts).
 */
import pg from 'pg';
import { InvalidArgumentError } from '../errors.js';
import type { ResolvedPostgresOptions } from './options.js';
import { retrying } from './pg-errors.js';
import { migrate } from './schema.js';

/** int8 as a number (positions, versions and times stay below 2^53), xid8 as text. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** A pool on the database at `url` whose schema is ready; the config its listener connects with. */
export async function openPool(url: string, o: ResolvedPostgresOptions): Promise<{ pool: pg.Pool; config: pg.ClientConfig }> {
  const config: pg.ClientConfig = { connectionString: url, types, application_name: 'annals' };
  const pool = new pg.Pool({ ...config, max: o.poolSize, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
  pool.on('error', () => {}); // an idle connection that breaks is dropped; the next use reconnects
  pool.on('connect', (c) => c.on('error', () => {}));
  try {
    await retrying(o.reconnectTimeoutMs, 'connect', async () => {
      const client = await pool.connect();
      try {
        if (o.readOnly) {
          const r = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [o.schema]);
          if (r.rowCount === 0) throw new InvalidArgumentError(`no annals store in schema ${o.schema}`);
        } else {
          await migrate(client, o.schema);
        }
        client.release();
      } catch (err) {
        client.release(true);
        throw err;
      }
    });
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  return { pool, config };
}
