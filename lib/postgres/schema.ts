/**
 * The PostgreSQL store's schema, created and migrated by the library: a list of numbered
 * migrations, each applied once, in order, in one transaction with its row in `migrations`. Every
 * process that connects runs `migrate`; a transaction-scoped advisory lock makes concurrent
 * connects apply each migration exactly once. A database whose schema is newer than this code
 * knows is refused (an older library must not write to it).
 *
 * Invariants the tables keep (see docs/postgres.md for the proof of the global order):
 * - `events.position` is allocated by `allocate_positions` under a short session lock that also
 *   assigns the transaction's id, so position order equals transaction-id order across
 *   transactions (and append order within one).
 * - `streams.version` is the stream's latest version; it is written only by a transaction holding
 *   the stream's advisory lock, which is taken before positions are allocated, so within a stream
 *   versions and positions increase together.
 * - `commands` holds each command id once, with the first AppendResult of that command.
 * - `stream_meta` (migration 3) is written only by a transaction holding the stream's advisory
 *   lock, which checks the expected version against `streams.version` under it: appends and
 *   deletes of a stream are ordered as appends are among themselves.
 * - `events.category` is derived from `stream_id` (a generated column): it cannot disagree.
 */
import type pg from 'pg';
import { AnnalsError, InvalidArgumentError } from '../errors.js';
import { MIGRATION_3 } from './migration-3.js';

/** Ours, in the two-int advisory lock space: 'anna' as a number, then the schema's hash. */
export const LOCK_CLASS = 0x616e6e61;

export function checkSchemaName(schema: unknown): string {
  if (typeof schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new InvalidArgumentError(`schema must be a lowercase SQL identifier (letters, digits, _), got ${String(schema)}`);
  }
  return schema;
}

const MIGRATIONS: ((s: string) => string)[] = [
  // 1: events, streams, commands, snapshots and the position allocator.
  (s) => `
    CREATE SEQUENCE ${s}.positions AS bigint MINVALUE 1;
    CREATE TABLE ${s}.events (
      position bigint PRIMARY KEY,
      tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
      stream_id text NOT NULL,
      version bigint NOT NULL,
      type text NOT NULL,
      data text,
      data_bytes bytea,
      metadata text,
      metadata_bytes bytea,
      event_id text NOT NULL,
      command_id text,
      ts bigint NOT NULL,
      UNIQUE (stream_id, version)
    );
    CREATE INDEX events_command ON ${s}.events (command_id, position) WHERE command_id IS NOT NULL;
    CREATE TABLE ${s}.streams (
      stream_id text PRIMARY KEY,
      version bigint NOT NULL,
      position bigint NOT NULL
    );
    CREATE INDEX streams_recent ON ${s}.streams (position);
    CREATE TABLE ${s}.commands (
      command_id text PRIMARY KEY,
      stream_id text NOT NULL,
      first_version bigint NOT NULL,
      last_version bigint NOT NULL,
      position bigint NOT NULL
    );
    CREATE TABLE ${s}.snapshots (
      stream_id text PRIMARY KEY,
      version bigint NOT NULL,
      state text,
      state_bytes bytea
    );
    -- Allocates n consecutive positions and assigns the transaction's id while holding a session
    -- lock, released before it returns: two transactions' ids and positions are then in the same
    -- order. Called before the transaction writes anything (a write would assign the id earlier).
    CREATE FUNCTION ${s}.allocate_positions(n int) RETURNS TABLE (first bigint, tx xid8)
    LANGUAGE plpgsql AS $$
    DECLARE
      f bigint;
      x xid8;
    BEGIN
      PERFORM pg_advisory_lock(${LOCK_CLASS}, hashtext('${s}'));
      x := pg_current_xact_id();
      f := nextval('${s}.positions');
      IF n > 1 THEN
        PERFORM setval('${s}.positions', f + n - 1);
      END IF;
      PERFORM pg_advisory_unlock(${LOCK_CLASS}, hashtext('${s}'));
      RETURN QUERY SELECT f, x;
    END $$;
  `,
  // 2: one append of one stream in one statement (one round trip with its commit): the same
  // locks, checks and allocation as the batched path (append-sql.ts), for the common lone append.
  // Status 0: written (a: first version, b: last, c: position of the last event, tx: its
  // transaction); 1: wrong expected version (a: the stream's version); 2: duplicate command
  // (a, b, c, d: the original result). Expected: -1 any, -2 no_stream, -3 stream_exists.
  (s) => `
    CREATE FUNCTION ${s}.append_one(keys bigint[], p_stream text, p_expected bigint, p_command text, p_ts bigint,
      p_types text[], p_data text[], p_data_bytes bytea[], p_meta text[], p_meta_bytes bytea[], p_ids text[])
    RETURNS TABLE (status int, tx text, a bigint, b bigint, c bigint, d text)
    LANGUAGE plpgsql AS $$
    DECLARE
      cur bigint;
      n int := cardinality(p_types);
      f bigint;
      x xid8;
      r record;
    BEGIN
      PERFORM pg_advisory_xact_lock(k) FROM unnest(keys) AS k;
      IF p_command IS NOT NULL THEN
        SELECT * INTO r FROM ${s}.commands WHERE command_id = p_command;
        IF FOUND THEN
          RETURN QUERY SELECT 2, NULL::text, r.first_version, r.last_version, r.position, r.stream_id;
          RETURN;
        END IF;
      END IF;
      SELECT version INTO cur FROM ${s}.streams WHERE stream_id = p_stream;
      cur := coalesce(cur, 0);
      IF NOT (p_expected = -1 OR (p_expected = -2 AND cur = 0) OR (p_expected = -3 AND cur > 0) OR p_expected = cur) THEN
        RETURN QUERY SELECT 1, NULL::text, cur, NULL::bigint, NULL::bigint, NULL::text;
        RETURN;
      END IF;
      SELECT ap.first, ap.tx INTO f, x FROM ${s}.allocate_positions(n) AS ap;
      INSERT INTO ${s}.events (position, stream_id, version, type, data, data_bytes, metadata, metadata_bytes, event_id, command_id, ts)
        SELECT f + i - 1, p_stream, cur + i, p_types[i], p_data[i], p_data_bytes[i], p_meta[i], p_meta_bytes[i], p_ids[i], p_command, p_ts
        FROM generate_series(1, n) AS i;
      INSERT INTO ${s}.streams (stream_id, version, position) VALUES (p_stream, cur + n, f + n - 1)
        ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, position = EXCLUDED.position;
      IF p_command IS NOT NULL THEN
        INSERT INTO ${s}.commands (command_id, stream_id, first_version, last_version, position) VALUES (p_command, p_stream, cur + 1, cur + n, f + n - 1);
      END IF;
      RETURN QUERY SELECT 0, x::text, cur + 1, cur + n, f + n - 1, NULL::text;
    END $$;
  `,
  // 3: categories, types, stream listing, stream metadata and deletes, durable consumers.
  MIGRATION_3,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export async function migrate(client: pg.ClientBase, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext($1) + 1)`, [schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const r = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${s}.migrations`);
    const current = r.rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new AnnalsError(
        'INVALID_ARGUMENT',
        `schema ${schema} is at version ${current}, newer than this library's ${SCHEMA_VERSION}: upgrade annals`,
      );
    }
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      await client.query((MIGRATIONS[v - 1] as (s: string) => string)(s));
      await client.query(`INSERT INTO ${s}.migrations (version) VALUES ($1)`, [v]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
