/**
 * The two messages of an append transaction, each one simple-protocol round trip (several
 * statements, no parameters: every value is a literal, numbers as digits and text through the
 * connection's escaping). In READ COMMITTED each statement of a message takes its own snapshot,
 * so the reads of the first message run after its locks are granted and see every transaction
 * that held them before.
 *
 * 1. BEGIN; the advisory locks of every stream and command id, in ascending key order (two
 *    transactions never wait on each other in a cycle); then the streams' versions and deletes,
 *    the commands already stored and the allocation of positions (the allocation assigns the transaction id,
 *    so nothing before it may write).
 * 2. The events, the streams' new versions and the new commands; COMMIT; then a notification to
 *    the store's listeners, in a transaction of its own after the commit (a NOTIFY inside the
 *    transaction would hold PostgreSQL's notification lock through the commit's flush, making
 *    concurrent writers' commits wait for each other).
 */
import type { BatchRows, Literal } from './append-plan.js';

export function stateSql(schema: string, keys: string, streams: string[], commands: string[], total: number, lit: Literal): string {
  const s = `"${schema}"`;
  const parts = [
    `SELECT 0 AS k, stream_id AS id, version AS a, position AS b, NULL::bigint AS c, NULL::text AS d FROM ${s}.streams WHERE stream_id IN (${streams.map(lit).join(', ')})`,
  ];
  // The streams' deletes: k 3, a: 1 when hard-deleted, b: the first version a soft delete leaves.
  parts.push(
    `SELECT 3, stream_id, CASE WHEN hard_deleted THEN 1 ELSE 0 END, truncate_before, NULL, NULL FROM ${s}.stream_meta WHERE stream_id IN (${streams.map(lit).join(', ')}) AND (hard_deleted OR truncate_before IS NOT NULL)`,
  );
  if (commands.length > 0) {
    parts.push(
      `SELECT 1, command_id, first_version, last_version, position, stream_id FROM ${s}.commands WHERE command_id IN (${commands.map(lit).join(', ')})`,
    );
  }
  parts.push(`SELECT 2, tx::text, first, NULL, NULL, NULL FROM ${s}.allocate_positions(${total})`);
  return `BEGIN; SELECT count(pg_advisory_xact_lock(k)) FROM unnest('{${keys}}'::bigint[]) AS k; ${parts.join(' UNION ALL ')}`;
}

export function writeSql(schema: string, rows: BatchRows, channel: string): string {
  const s = `"${schema}"`;
  const { lit } = rows;
  const out = [
    `INSERT INTO ${s}.events (position, stream_id, version, type, data, data_bytes, metadata, metadata_bytes, event_id, command_id, ts) VALUES ${rows.events.join(', ')}`,
  ];
  const streams = [...rows.streams].map(([id, st]) => `(${lit(id)}, ${st.version}, ${st.position}, ${st.first ?? st.position})`);
  out.push(
    `INSERT INTO ${s}.streams (stream_id, version, position, first_position) VALUES ${streams.join(', ')} ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, position = EXCLUDED.position`,
  );
  if (rows.commands.length > 0) {
    const commands = rows.commands.map(
      (r) => `(${lit(r.commandId as string)}, ${lit(r.streamId)}, ${r.firstVersion}, ${r.lastVersion}, ${r.position})`,
    );
    out.push(`INSERT INTO ${s}.commands (command_id, stream_id, first_version, last_version, position) VALUES ${commands.join(', ')}`);
  }
  out.push('COMMIT', `SELECT pg_notify(${lit(channel)}, '')`);
  return out.join('; ');
}
