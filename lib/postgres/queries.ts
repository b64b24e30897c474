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

export function buildQueries(schema: string) {
  const s = `"${schema}"`;
  const q = (name: string, text: string) => ({ name: `annals.${schema}.${name}`, text });
  return {
    channel: `annals_${schema}`,
    streamVersion: q('streamVersion', `SELECT version FROM ${s}.streams WHERE stream_id = $1`),
    streamRange: q('streamRange', `SELECT ${COLS} FROM ${s}.events WHERE stream_id = $1 AND version BETWEEN $2 AND $3 ORDER BY version`),
    streamFrom: q('streamFrom', `SELECT ${COLS} FROM ${s}.events WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`),
    firstVersionAfter: q(
      'firstVersionAfter',
      `SELECT coalesce((SELECT min(version) FROM ${s}.events WHERE stream_id = $1 AND position > $2),
        (SELECT version + 1 FROM ${s}.streams WHERE stream_id = $1), 1) AS v`,
    ),
    command: q('command', `SELECT ${COLS} FROM ${s}.events WHERE command_id = $1 ORDER BY position`),
    isPosition: q('isPosition', `SELECT 1 FROM ${s}.events WHERE position = $1`),
    // Global order: only rows of transactions older than every transaction still running (their
    // ids are below the snapshot's xmin) are read. Positions follow transaction ids, so what this
    // returns is a prefix of the final order: nothing can later appear before it.
    logAfter: q(
      'logAfter',
      `WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x)
       SELECT h.x::text AS horizon, e.* FROM h LEFT JOIN LATERAL
         (SELECT ${COLS} FROM ${s}.events WHERE position > $1 AND tx < h.x ORDER BY position LIMIT $2) e ON true`,
    ),
    visibleEnd: q(
      'visibleEnd',
      `SELECT coalesce((SELECT position FROM ${s}.events WHERE tx < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY position DESC LIMIT 1), 0) AS p`,
    ),
    recentStreams: q('recentStreams', `SELECT stream_id, version FROM ${s}.streams ORDER BY position DESC LIMIT $1`),
    loadSnapshot: q('loadSnapshot', `SELECT version, state, state_bytes FROM ${s}.snapshots WHERE stream_id = $1`),
    saveSnapshot: q(
      'saveSnapshot',
      `INSERT INTO ${s}.snapshots (stream_id, version, state, state_bytes) VALUES ($1, $2, $3, $4)
       ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state, state_bytes = EXCLUDED.state_bytes
       WHERE ${s}.snapshots.version <= EXCLUDED.version`,
    ),
    stats: q(
      'stats',
      `SELECT (SELECT count(*) FROM ${s}.events) AS events, (SELECT count(*) FROM ${s}.streams) AS streams,
        (SELECT count(*) FROM ${s}.commands) AS commands, (SELECT coalesce(max(position), 0) FROM ${s}.events) AS "end",
        (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'S')) AS bytes`,
    ),
  };
}
