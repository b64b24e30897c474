/**
 * The SQL of the PostgreSQL store, built once per schema, and the decoding of event rows. Every
 * statement that runs often is named, so each connection prepares it once.
 */
import type { RecordedEvent } from '../types.js';

export interface EventRow {
  position: number;
  stream_id: string;
  version: number;
  type: string;
  data: string | null;
  data_bytes: Buffer | null;
  metadata: string | null;
  metadata_bytes: Buffer | null;
  event_id: string;
  command_id: string | null;
  ts: number;
}

const COLS = 'position, stream_id, version, type, data, data_bytes, metadata, metadata_bytes, event_id, command_id, ts';

/** `pg` gives bytea as a Buffer; the store gives plain Uint8Arrays, as the embedded store does. */
function bytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

function payload(text: string | null, bin: Buffer | null): unknown {
  if (text !== null) return JSON.parse(text);
  if (bin !== null) return bytes(bin);
  return undefined;
}

export function toEvent(r: EventRow): RecordedEvent {
  const e: RecordedEvent = {
    streamId: r.stream_id,
    version: r.version,
    type: r.type,
    data: payload(r.data, r.data_bytes),
    metadata: payload(r.metadata, r.metadata_bytes),
    id: r.event_id,
    timestamp: r.ts,
    position: r.position,
  };
  if (r.command_id !== null) e.commandId = r.command_id;
  return e;
}

export type Queries = ReturnType<typeof buildQueries>;

const EV_COLS = COLS.split(', ')
  .map((c) => `ev.${c}`)
  .join(', ');

/**
 * Whether stream metadata (stream_meta) leaves the event `ev` visible: not hard-deleted, at or
 * past `truncate_before`, among the newest `max_count` of its stream, younger than `max_age_ms`
 * (by the server's clock). An anti-join: a stream without metadata costs one index probe.
 */
export function visible(s: string, ev = 'ev'): string {
  return `NOT EXISTS (SELECT 1 FROM ${s}.stream_meta m WHERE m.stream_id = ${ev}.stream_id AND (m.hard_deleted
    OR ${ev}.version < m.truncate_before
    OR ${ev}.ts < (extract(epoch FROM statement_timestamp()) * 1000)::bigint - m.max_age_ms
    OR ${ev}.version <= (SELECT st.version FROM ${s}.streams st WHERE st.stream_id = ${ev}.stream_id) - m.max_count))`;
}

/**
 * Events of the global order where `where` holds, in position order (`ASC`) or reverse, up to the
 * limit `$n`: only rows of transactions older than every transaction still running (their ids are
 * below the snapshot's xmin) are read. Positions follow transaction ids, so what this returns is a
 * prefix of the final order: nothing can later appear before it. Every row carries the horizon
 * (the xmin) and `vend`, the last position of that prefix (a filtered read that found fewer rows
 * than it asked for has looked at everything up to there). `hidden`: with the events stream
 * metadata hides (`annals copy`).
 */
export function horizonSql(s: string, where: string, order: 'ASC' | 'DESC', limit: string, hidden = false): string {
  return `WITH h AS (SELECT y.x, (SELECT p.position FROM ${s}.events p WHERE p.tx < y.x ORDER BY p.position DESC LIMIT 1) AS vend
       FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x) y)
     SELECT h.x::text AS horizon, coalesce(h.vend, 0) AS vend, e.* FROM h LEFT JOIN LATERAL
       (SELECT ${EV_COLS} FROM ${s}.events ev WHERE ${where} AND ev.tx < h.x AND ${hidden ? 'true' : visible(s)}
        ORDER BY ev.position ${order} LIMIT ${limit}) e ON true`;
}

export function buildQueries(schema: string) {
  const s = `"${schema}"`;
  const q = (name: string, text: string) => ({ name: `annals.${schema}.${name}`, text });
  const vis = visible(s);
  const listStreams = (bounded: boolean) =>
    `SELECT st.stream_id, st.version, st.position AS last_position, st.first_position
     FROM ${s}.streams st
     WHERE st.stream_id COLLATE "C" > $1 AND st.stream_id COLLATE "C" >= $2 ${bounded ? 'AND st.stream_id COLLATE "C" < $4' : ''}
       AND NOT EXISTS (SELECT 1 FROM ${s}.stream_meta m WHERE m.stream_id = st.stream_id AND (m.hard_deleted OR m.truncate_before > st.version))
     ORDER BY st.stream_id COLLATE "C" LIMIT $3`;
  return {
    schema: s,
    channel: `annals_${schema}`,
    streamVersion: q('streamVersion', `SELECT version FROM ${s}.streams WHERE stream_id = $1`),
    streamForward: q(
      'streamForward',
      `SELECT ${EV_COLS} FROM ${s}.events ev WHERE ev.stream_id = $1 AND ev.version >= $2 AND ${vis} ORDER BY ev.version LIMIT $3`,
    ),
    streamBackward: q(
      'streamBackward',
      `SELECT ${EV_COLS} FROM ${s}.events ev WHERE ev.stream_id = $1 AND ev.version <= $2 AND ${vis} ORDER BY ev.version DESC LIMIT $3`,
    ),
    streamAt: q('streamAt', `SELECT ${EV_COLS} FROM ${s}.events ev WHERE ev.stream_id = $1 AND ev.version = $2 AND ${vis}`),
    /** The stream's latest version and the first version reads return (NULL: none). */
    streamVisibility: q(
      'streamVisibility',
      `SELECT coalesce((SELECT version FROM ${s}.streams WHERE stream_id = $1), 0) AS version,
        (SELECT ev.version FROM ${s}.events ev WHERE ev.stream_id = $1 AND ${vis} ORDER BY ev.version LIMIT 1) AS first`,
    ),
    firstVersionAfter: q(
      'firstVersionAfter',
      `SELECT coalesce((SELECT min(version) FROM ${s}.events WHERE stream_id = $1 AND position > $2),
        (SELECT version + 1 FROM ${s}.streams WHERE stream_id = $1), 1) AS v`,
    ),
    command: q('command', `SELECT ${EV_COLS} FROM ${s}.events ev WHERE ev.command_id = $1 AND ${vis} ORDER BY ev.position`),
    isPosition: q('isPosition', `SELECT 1 FROM ${s}.events WHERE position = $1`),
    logAfter: q('logAfter', horizonSql(s, 'ev.position > $1', 'ASC', '$2')),
    rawLogAfter: q('rawLogAfter', horizonSql(s, 'ev.position > $1', 'ASC', '$2', true)),
    allMetadata: q(
      'allMetadata',
      `SELECT stream_id, max_count, max_age_ms, truncate_before, hard_deleted FROM ${s}.stream_meta ORDER BY position`,
    ),
    visibleEnd: q(
      'visibleEnd',
      `SELECT coalesce((SELECT position FROM ${s}.events WHERE tx < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY position DESC LIMIT 1), 0) AS p`,
    ),
    listStreams: q('listStreams', listStreams(false)),
    listStreamsBounded: q('listStreamsBounded', listStreams(true)),
    recentStreams: q('recentStreams', `SELECT stream_id, version FROM ${s}.streams ORDER BY position DESC LIMIT $1`),
    loadSnapshot: q('loadSnapshot', `SELECT version, state, state_bytes FROM ${s}.snapshots WHERE stream_id = $1`),
    saveSnapshot: q(
      'saveSnapshot',
      `INSERT INTO ${s}.snapshots (stream_id, version, state, state_bytes) VALUES ($1, $2, $3, $4)
       ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state, state_bytes = EXCLUDED.state_bytes
       WHERE ${s}.snapshots.version <= EXCLUDED.version`,
    ),
    metadata: q('metadata', `SELECT max_count, max_age_ms, truncate_before, hard_deleted FROM ${s}.stream_meta WHERE stream_id = $1`),
    stats: q(
      'stats',
      `SELECT (SELECT count(*) FROM ${s}.events) AS events, (SELECT count(*) FROM ${s}.streams) AS streams,
        (SELECT count(*) FROM ${s}.commands) AS commands, (SELECT coalesce(max(position), 0) FROM ${s}.events) AS "end",
        (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'S')) AS bytes`,
    ),
  };
}
