/** The PostgreSQL server of the run (test/pg-setup.ts) and stores in schemas of their own. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, inject } from 'vitest';
import { PostgresEventStore, type PostgresStoreOptions } from '../lib/postgres/index.js';

export const PG_URL = inject('pgUrl');
/** Why the PostgreSQL tests are skipped ('' when they run). */
export const PG_SKIP = inject('pgSkip') || undefined;

let admin: pg.Pool | undefined;
const schemas: string[] = [];
const stores: PostgresEventStore[] = [];

export function newSchema(): string {
  const s = `t_${randomBytes(6).toString('hex')}`;
  schemas.push(s);
  return s;
}

export async function connectPg(schema: string, options: PostgresStoreOptions = {}): Promise<PostgresEventStore> {
  const s = await PostgresEventStore.connect(PG_URL, { schema, ...options });
  stores.push(s);
  return s;
}

/** Drops the schemas made since the last call. */
export async function dropSchemas(): Promise<void> {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  if (schemas.length === 0) return;
  admin ??= new pg.Pool({ connectionString: PG_URL, max: 1 });
  for (const s of schemas.splice(0)) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
}

export async function adminQuery(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  admin ??= new pg.Pool({ connectionString: PG_URL, max: 1 });
  return admin.query(text, values);
}

afterEach(dropSchemas);
afterAll(async () => {
  await admin?.end();
  admin = undefined;
});
