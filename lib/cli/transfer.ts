/**
 * Export and import of events as NDJSON, one RecordedEvent per line (bytes as `{ "$bytes": base64 }`).
 * Import keeps versions and command ids (consecutive lines of one command and stream become one
 * append, expecting the version before them) and is resumable: a line whose version the stream
 * already has is skipped, so an interrupted import can simply be run again. Timestamps are not
 * carried over: the store stamps appends itself.
 */
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { InvalidArgumentError } from '../errors.js';
import type { EventStore } from '../event-store.js';
import { eventToJson, unwrapBytes } from '../server/json-codec.js';
import type { EventData, RecordedEvent } from '../types.js';

/** Writes events as NDJSON: one stream, or the global log strictly after position `after` (so an
 * interrupted export resumes from the last line's position). With `onDamaged` (the global log
 * only), a damaged record is reported there and skipped: a salvage of everything intact. */
export async function exportEvents(
  store: EventStore,
  out: Writable,
  options: { streamId?: string; after?: number; onDamaged?: (position: number, error: Error) => void } = {},
  onEvent?: () => void,
): Promise<number> {
  const { streamId, after, onDamaged } = options;
  let n = 0;
  const write = async (e: RecordedEvent) => {
    if (!out.write(`${JSON.stringify(eventToJson(e))}\n`)) await new Promise((r) => out.once('drain', r));
    n++;
    onEvent?.();
  };
  if (streamId !== undefined) {
    const version = await store.streamVersion(streamId);
    for (let from = 1; from <= version; from += 1000)
      for (const e of await store.readStream(streamId, { fromVersion: from, limit: 1000 })) await write(e);
  } else {
    for await (const e of store.readAll({ ...(after === undefined ? {} : { after }), ...(onDamaged ? { onDamaged } : {}) })) await write(e);
  }
  return n;
}

interface Pending {
  streamId: string;
  firstVersion: number;
  commandId: string | undefined;
  events: EventData[];
}

/** Appends the NDJSON events of `input`. `counts` is kept up to date as it goes, so a caller still
 * knows how much was imported when a bad line ends the import. */
export async function importEvents(
  store: EventStore,
  input: Readable,
  onLine?: (bytes: number) => void,
  counts: { imported: number; skipped: number } = { imported: 0, skipped: 0 },
): Promise<{ imported: number; skipped: number }> {
  let pending: Pending | undefined;
  const versions = new Map<string, number>();
  const current = async (s: string) => {
    let v = versions.get(s);
    if (v === undefined) {
      v = await store.streamVersion(s);
      versions.set(s, v);
    }
    return v;
  };
  const flush = async () => {
    if (!pending) return;
    const p = pending;
    pending = undefined;
    const options: { expectedVersion: number; commandId?: string } = { expectedVersion: p.firstVersion - 1 };
    if (p.commandId !== undefined) options.commandId = p.commandId;
    await store.append(p.streamId, p.events, options);
    versions.set(p.streamId, p.firstVersion + p.events.length - 1);
    counts.imported += p.events.length;
  };
  let lineNo = 0;
  for await (const line of readline.createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    lineNo++;
    onLine?.(Buffer.byteLength(line) + 1);
    if (line.trim() === '') continue;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line);
    } catch {
      throw new InvalidArgumentError(`line ${lineNo}: not JSON`);
    }
    const streamId = e.streamId as string;
    const version = e.version as number;
    if (typeof streamId !== 'string' || !Number.isInteger(version) || version < 1 || typeof e.type !== 'string') {
      throw new InvalidArgumentError(`line ${lineNo}: an event needs streamId, version and type`);
    }
    const commandId = typeof e.commandId === 'string' ? e.commandId : undefined;
    const event: EventData = { type: e.type, data: unwrapBytes(e.data), metadata: unwrapBytes(e.metadata) };
    if (typeof e.id === 'string') event.id = e.id;
    const continues =
      pending &&
      pending.streamId === streamId &&
      pending.commandId === commandId &&
      pending.firstVersion + pending.events.length === version;
    if (continues) {
      pending?.events.push(event);
      continue;
    }
    await flush();
    const have = await current(streamId);
    if (version <= have) {
      counts.skipped++;
      continue;
    }
    if (version !== have + 1)
      throw new InvalidArgumentError(`line ${lineNo}: ${streamId} is at version ${have}, the line has version ${version}`);
    pending = { streamId, firstVersion: version, commandId, events: [event] };
  }
  await flush();
  return counts;
}
