/**
 * Deletes and retention rules of the PostgreSQL store, with the embedded store's rules
 * (stream-lifecycle.ts, docs/api.md "Deleting streams and retention"): a soft delete is a
 * truncation past the stream's last version (versions go on), a hard delete a tombstone
 * (STREAM_DELETED for every later write). Each change is one transaction that takes the stream's
 * advisory lock (the one appends take), checks the expected version against `streams.version`
 * under it and writes the stream's `stream_meta` row: of an append and a delete expecting the same
 * version exactly one wins, across processes. Changes run through the append queue's barrier, so a
 * process's appends and deletes apply in call order. Reads apply the rules in SQL (queries.ts
 * `visible`), from the moment the change commits.
 */
import type pg from 'pg';
import { refuseSystemStreams } from '../consumers.js';
import { StreamDeletedError, WrongExpectedVersionError } from '../errors.js';
import type { ResolvedLimits } from '../options.js';
import type { CopiedMetadata } from '../raw-log.js';
import { checkDeleteOptions, checkMetadata } from '../stream-lifecycle.js';
import type { StoredMetadata } from '../stream-metadata.js';
import type { ExpectedVersion } from '../types.js';
import { checkStreamId, versionMatches } from '../validation.js';
import { lockKey } from './append-batcher.js';
import type { Queries } from './queries.js';

export interface PgLifecycleDeps {
  pool: pg.Pool;
  schema: string;
  queries: Queries;
  limits: ResolvedLimits;
  barrier<T>(fn: () => Promise<T>): Promise<T>;
  withRetry<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

interface MetaRow {
  max_count: number | null;
  max_age_ms: number | null;
  truncate_before: number | null;
  hard_deleted: boolean;
}

function toMetadata(r: MetaRow | undefined): StoredMetadata {
  const out: StoredMetadata = {};
  if (!r) return out;
  if (r.hard_deleted) return { hardDeleted: true };
  if (r.max_count !== null) out.maxCount = r.max_count;
  if (r.max_age_ms !== null) out.maxAgeMs = r.max_age_ms;
  if (r.truncate_before !== null) out.truncateBefore = r.truncate_before;
  return out;
}

export class PgLifecycle {
  constructor(private readonly d: PgLifecycleDeps) {}

  async delete(streamId: unknown, options: unknown): Promise<{ position: number }> {
    const id = this.checkId(streamId);
    const { expectedVersion, hard } = checkDeleteOptions(options);
    return this.write('deleteStream', id, expectedVersion, true, (current, last) =>
      hard ? { hardDeleted: true } : { ...current, truncateBefore: last + 1 },
    );
  }

  async setMetadata(streamId: unknown, metadata: unknown): Promise<{ position: number }> {
    const id = this.checkId(streamId);
    const meta = checkMetadata(metadata);
    return this.write('setStreamMetadata', id, 'any', false, () => meta);
  }

  async getMetadata(streamId: unknown): Promise<StoredMetadata> {
    const id = checkStreamId(streamId, this.d.limits);
    const r = await this.d.withRetry('getStreamMetadata', () => this.d.pool.query<MetaRow>({ ...this.d.queries.metadata, values: [id] }));
    return toMetadata(r.rows[0]);
  }

  /** Every stream with metadata, in the order of its last change (raw-log.ts: `annals copy`). */
  async all(): Promise<CopiedMetadata[]> {
    const r = await this.d.withRetry('stream metadata', () =>
      this.d.pool.query<MetaRow & { stream_id: string }>({ ...this.d.queries.allMetadata, values: [] }),
    );
    return r.rows.map((row) => ({ streamId: row.stream_id, metadata: toMetadata(row) }));
  }

  /** An application stream's id: the store's own (`$$`) have no metadata of their own. */
  private checkId(streamId: unknown): string {
    const id = checkStreamId(streamId, this.d.limits);
    refuseSystemStreams([{ streamId: id }]);
    return id;
  }

  /** One transaction under the stream's lock: checks, then writes the stream's new metadata (and
   * drops its snapshot when that is a delete: it holds state folded from hidden events). */
  private write(
    what: string,
    id: string,
    expected: ExpectedVersion,
    dropSnapshot: boolean,
    next: (current: StoredMetadata, lastVersion: number) => StoredMetadata,
  ): Promise<{ position: number }> {
    const s = this.d.queries.schema;
    return this.d.barrier(() =>
      this.d.withRetry(what, async () => {
        const client = await this.d.pool.connect();
        let broken = false;
        try {
          await client.query('BEGIN');
          await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey(this.d.schema, '\0s\0', id).toString()]);
          const [v, m] = await Promise.all([
            client.query<{ version: number }>({ ...this.d.queries.streamVersion, values: [id] }),
            client.query<MetaRow>({ ...this.d.queries.metadata, values: [id] }),
          ]);
          const version = v.rows[0]?.version ?? 0;
          const current = toMetadata(m.rows[0]);
          if (current.hardDeleted) throw new StreamDeletedError(id);
          const empty = version > 0 && (current.truncateBefore ?? 0) > version;
          if (!versionMatches(expected, version, empty)) throw new WrongExpectedVersionError(id, expected, version);
          const meta = next(current, version);
          const r = await client.query<{ first: number }>(`SELECT first FROM ${s}.allocate_positions(1)`);
          const position = r.rows[0]?.first as number;
          await client.query(
            `INSERT INTO ${s}.stream_meta (stream_id, max_count, max_age_ms, truncate_before, hard_deleted, position)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream_id) DO UPDATE SET max_count = EXCLUDED.max_count,
             max_age_ms = EXCLUDED.max_age_ms, truncate_before = EXCLUDED.truncate_before,
             hard_deleted = EXCLUDED.hard_deleted, position = EXCLUDED.position`,
            [id, meta.maxCount ?? null, meta.maxAgeMs ?? null, meta.truncateBefore ?? null, meta.hardDeleted === true, position],
          );
          if (dropSnapshot) {
            await client.query(`DELETE FROM ${s}.snapshots WHERE stream_id = $1`, [id]);
          }
          await client.query('COMMIT');
          return { position };
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {
            broken = true;
          });
          throw err;
        } finally {
          client.release(broken);
        }
      }),
    );
  }
}
