/**
 * The end-to-end contenders on PostgreSQL: annals' PostgresEventStore and Emmett's PostgreSQL event
 * store (@event-driven-io/emmett-postgresql), on the server named by ANNALS_BENCH_PG_URL (bench/
 * e2e-postgres.ts starts one), each run in a database of its own named after the worker's
 * directory, so a reopen finds the same data.
 *
 * Emmett appends to one stream per transaction and has no command ids: a batch is one
 * appendToStream per event, all in flight at once (what an Emmett application does with a batch
 * across streams), each with its expected version; its command-id phases are not run. Emmett has
 * no category read nor stream listing: annals' read models run beside plain SQL queries on annals'
 * own tables instead (the same indexes, no store in between).
 */
import path from 'node:path';
import type { AnnalsStore } from '../../lib/store-api.js';
import type { BenchEvent, Contender } from './contenders.js';

function serverUrl(): string {
  const url = process.env.ANNALS_BENCH_PG_URL;
  if (!url) throw new Error('ANNALS_BENCH_PG_URL is not set (bench/e2e-postgres.ts sets it)');
  return url;
}

/** A database of its own for `dir` (created once), and its URL. */
async function databaseFor(dir: string): Promise<{ url: string; name: string }> {
  const pg = (await import('pg')).default;
  const name = `bench_${path
    .basename(dir)
    .replace(/[^a-zA-Z0-9]/g, '_')
    .toLowerCase()}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return { url: url.toString(), name };
}

async function databaseBytes(url: string, name: string): Promise<number> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CHECKPOINT');
    return Number((await c.query('SELECT pg_database_size($1) AS b', [name])).rows[0].b);
  } finally {
    await c.end();
  }
}

const PAGE = 500;
const LIST_PAGE = 100;

export class AnnalsPostgresContender implements Contender {
  private store!: AnnalsStore;
  private db!: { url: string; name: string };
  // biome-ignore lint/suspicious/noExplicitAny: pg is loaded dynamically (a bench-only path)
  private sql: any;
  async open(dir: string) {
    const { PostgresEventStore } = await import('../../lib/postgres/index.js');
    this.db = await databaseFor(dir);
    this.store = await PostgresEventStore.connect(this.db.url, { poolSize: 16 });
  }
  async readCategory(category: string) {
    let n = 0;
    for await (const _ of this.store.readCategory(category)) n++;
    return n;
  }
  async listStreams() {
    let n = 0;
    let after: string | undefined;
    do {
      const page = await this.store.listStreams({ after, limit: LIST_PAGE });
      n += page.streams.length;
      after = page.next;
    } while (after !== undefined);
    return n;
  }
  /** A client of its own, as an application querying the tables would have. */
  private async client() {
    if (!this.sql) {
      const pg = (await import('pg')).default;
      this.sql = new pg.Pool({ connectionString: this.db.url, max: 2 });
    }
    return this.sql;
  }
  /** The category's rows in pages of 500 by position through its index, payloads parsed. */
  async sqlReadCategory(category: string) {
    const sql = await this.client();
    let n = 0;
    for (let after = 0; ; ) {
      const r = await sql.query({
        name: 'bench-category',
        text: `SELECT position, stream_id, version, type, data, metadata, event_id, command_id, ts FROM annals.events
               WHERE category = $1 AND position > $2 ORDER BY position LIMIT ${PAGE}`,
        values: [category, after],
      });
      for (const row of r.rows) {
        if (row.data !== null) JSON.parse(row.data);
        if (row.metadata !== null) JSON.parse(row.metadata);
      }
      n += r.rows.length;
      if (r.rows.length < PAGE) return n;
      after = r.rows[r.rows.length - 1].position;
    }
  }
  /** Every stream in byte order, 100 per page, by keyset on the same index. */
  async sqlListStreams() {
    const sql = await this.client();
    let n = 0;
    for (let after = ''; ; ) {
      const r = await sql.query({
        name: 'bench-list',
        text: `SELECT stream_id, version, position, first_position FROM annals.streams WHERE stream_id COLLATE "C" > $1
               ORDER BY stream_id COLLATE "C" LIMIT ${LIST_PAGE}`,
        values: [after],
      });
      n += r.rows.length;
      if (r.rows.length < LIST_PAGE) return n;
      after = r.rows[r.rows.length - 1].stream_id;
    }
  }
  async appendBatch(events: BenchEvent[]) {
    if (events.length === 1) {
      const e = events[0] as BenchEvent;
      await this.store.append(e.stream, [{ type: e.type, data: e.data }], { expectedVersion: e.expected, commandId: e.commandId });
      return;
    }
    await this.store.appendMany(
      events.map((e) => ({
        streamId: e.stream,
        events: [{ type: e.type, data: e.data }],
        expectedVersion: e.expected,
        commandId: e.commandId,
      })),
    );
  }
  readStream(stream: string) {
    return this.store.readStream(stream);
  }
  readEvent(stream: string, version: number) {
    return this.store.readEvent(stream, version);
  }
  readCommand(commandId: string) {
    return this.store.readCommand(commandId);
  }
  bytesOnDisk() {
    return databaseBytes(this.db.url, this.db.name);
  }
  async close() {
    await this.sql?.end();
    this.sql = undefined;
    await this.store.close();
  }
}

export class EmmettPostgresContender implements Contender {
  readonly commandIds = false;
  // biome-ignore lint/suspicious/noExplicitAny: Emmett is a bench-only peer loaded dynamically
  private store: any;
  private db!: { url: string; name: string };
  async open(dir: string) {
    const { getPostgreSQLEventStore } = await import('@event-driven-io/emmett-postgresql');
    this.db = await databaseFor(dir);
    this.store = getPostgreSQLEventStore(this.db.url);
    await this.store.schema.migrate();
  }
  async appendBatch(events: BenchEvent[]) {
    await Promise.all(
      events.map((e) =>
        this.store.appendToStream(e.stream, [{ type: e.type, data: e.data }], {
          expectedStreamVersion: e.expected === 0 ? 'STREAM_DOES_NOT_EXIST' : BigInt(e.expected),
        }),
      ),
    );
  }
  async readStream(stream: string) {
    return (await this.store.readStream(stream)).events;
  }
  async readEvent(stream: string, version: number) {
    return (await this.store.readStream(stream, { from: BigInt(version), to: BigInt(version) })).events[0];
  }
  async readCommand(_commandId: string): Promise<unknown> {
    throw new Error('Emmett has no command ids');
  }
  bytesOnDisk() {
    return databaseBytes(this.db.url, this.db.name);
  }
  close() {
    return this.store.close();
  }
}
