/**
 * The lone append: a batch of one call of one stream goes as one message, `BEGIN`, the
 * `append_one` function (schema migrations 2 and 3: the same locks, checks and position allocation
 * as the batched path), `COMMIT` and the notification: one round trip with its commit instead of two.
 *
 * When the connection breaks during that message, the transaction's id is not known yet, so it is
 * settled by the write itself: the store waits until the old server process is gone (its
 * transaction has then ended, committed or rolled back), then looks for the append's first event
 * by its id, a random UUID made for this call (the path is only taken when the first event's id
 * was not given), so it is found only if this very append committed.
 */
import type pg from 'pg';
import {
  type AppendResult,
  DuplicateCommandError,
  type ExpectedVersion,
  StreamDeletedError,
  WrongExpectedVersionError,
} from '../errors.js';
import type { AppendCall, Literal, PreparedItem } from './append-plan.js';

export interface OneRow {
  status: number;
  tx: string | null;
  a: number;
  b: number;
  c: number;
  d: string | null;
}

/** The item, when `calls` is one call of one item whose first event id was made by the store. */
export function loneItem(calls: AppendCall[]): PreparedItem | undefined {
  if (calls.length !== 1) return undefined;
  const groups = (calls[0] as AppendCall).groups;
  if (groups.length !== 1 || (groups[0] as PreparedItem[]).length !== 1) return undefined;
  const item = (groups[0] as PreparedItem[])[0] as PreparedItem;
  return item.ownFirstId ? item : undefined;
}

function expectedCode(e: ExpectedVersion): number {
  return e === 'any' ? -1 : e === 'no_stream' ? -2 : e === 'stream_exists' ? -3 : e;
}

export function appendOneSql(schema: string, keys: string, item: PreparedItem, ts: number, channel: string, lit: Literal): string {
  const text = (vals: (string | null)[]) => `ARRAY[${vals.map((v) => (v === null ? 'NULL' : lit(v))).join(', ')}]::text[]`;
  const bytes = (vals: (Uint8Array | null)[]) =>
    `ARRAY[${vals.map((v) => (v === null ? 'NULL' : `decode('${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}', 'hex')`)).join(', ')}]::bytea[]`;
  const ev = item.events;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const bin = (v: unknown) => (v instanceof Uint8Array ? v : null);
  const args = [
    `'{${keys}}'::bigint[]`,
    lit(item.streamId),
    String(expectedCode(item.expected)),
    item.commandId === undefined ? 'NULL' : lit(item.commandId),
    String(ts),
    text(ev.map((e) => e.type)),
    text(ev.map((e) => str(e.data))),
    bytes(ev.map((e) => bin(e.data))),
    text(ev.map((e) => str(e.metadata))),
    bytes(ev.map((e) => bin(e.metadata))),
    text(ev.map((e) => e.id)),
  ];
  return `BEGIN; SELECT * FROM "${schema}".append_one(${args.join(', ')}); COMMIT; SELECT pg_notify(${lit(channel)}, '')`;
}

/** Fills the call's result from the function's row; returns the failure of an atomic call. */
export function settleOne(call: AppendCall, item: PreparedItem, row: OneRow): Error | undefined {
  let failure: Error | undefined;
  if (row.status === 1) failure = new WrongExpectedVersionError(item.streamId, item.expected, row.a);
  else if (row.status === 3) failure = new StreamDeletedError(item.streamId);
  else if (row.status === 2) {
    const original: AppendResult = {
      streamId: row.d as string,
      firstVersion: row.a,
      lastVersion: row.b,
      position: row.c,
      commandId: item.commandId as string,
    };
    failure = new DuplicateCommandError(item.commandId as string, original);
  } else {
    // The function allocates the item's positions in one run: row.c is the last of them.
    const first = row.c - item.events.length + 1;
    const events = item.events.map((e, k) => ({ id: e.id, version: row.a + k, position: first + k }));
    const result: AppendResult = { streamId: item.streamId, firstVersion: row.a, lastVersion: row.b, position: row.c, events };
    if (item.commandId !== undefined) result.commandId = item.commandId;
    call.results[item.index] = result;
    return undefined;
  }
  if (call.atomic) return failure;
  call.results[item.index] = failure;
  return undefined;
}

/**
 * After a broken connection: 'committed' (with the row the function would have returned),
 * 'absent' (nothing was written: try again), or undefined when the server cannot tell yet.
 */
export async function findLone(
  pool: pg.Pool,
  schema: string,
  item: PreparedItem,
  oldPid: number,
): Promise<{ found: OneRow | undefined } | undefined> {
  const alive = await pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [oldPid]);
  if ((alive.rowCount ?? 0) > 0) return undefined;
  const first = (item.events[0] as { id: string }).id;
  const r = await pool.query<{ version: number; position: number; tx: string }>(
    `SELECT version, position, tx::text AS tx FROM "${schema}".events WHERE stream_id = $1 AND event_id = $2 ORDER BY version DESC LIMIT 1`,
    [item.streamId, first],
  );
  const hit = r.rows[0];
  if (!hit) return { found: undefined };
  const n = item.events.length;
  return { found: { status: 0, tx: hit.tx, a: hit.version, b: hit.version + n - 1, c: hit.position + n - 1, d: null } };
}
