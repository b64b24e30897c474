/**
 * `annals copy <from> <to>`: every event of one store into another, each a directory (the
 * embedded store) or a `postgres://` URL (the PostgreSQL store, loaded only then), in global
 * order, keeping stream versions, command ids (a command that wrote several streams stays one
 * command), event ids, data and metadata, and the streams' retention rules and deletes (the events
 * they hide are copied too, so versions keep their numbers; the rules are applied after them). Positions are each store's own and timestamps are the
 * destination's, as with `import`.
 *
 * Resumable: events go in atomic batches, and an event whose version the destination stream
 * already has is skipped, so an interrupted copy is simply run again. A destination stream that
 * holds other events (its version is between the source's) is refused with INVALID_ARGUMENT.
 */
import type { Command } from 'commander';
import type { AppendResult } from '../errors.js';
import { InvalidArgumentError } from '../errors.js';
import { EventStore } from '../event-store.js';
import { type CopiedMetadata, hasRawLog, hasRawMetadata, RAW_LOG, RAW_METADATA } from '../raw-log.js';
import type { AnnalsStore, AppendManyItem } from '../store-api.js';
import { checkStoreDir } from '../store-dir.js';
import type { StoredMetadata } from '../stream-metadata.js';
import type { RecordedEvent, StoreOptions } from '../types.js';
import { bar } from './progress.js';

const BATCH_EVENTS = 1000;
const BATCH_BYTES = 4 << 20;

export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//.test(target);
}

/** Opens a directory or a `postgres://` URL; `schema` picks the PostgreSQL store's schema. */
export async function openTarget(
  target: string,
  options: { readOnly?: boolean; schema?: string; engine?: StoreOptions['engine'] } = {},
): Promise<AnnalsStore> {
  if (isPostgresUrl(target)) {
    const { PostgresEventStore } = await import('../postgres/index.js');
    return PostgresEventStore.connect(target, {
      readOnly: options.readOnly ?? false,
      ...(options.schema ? { schema: options.schema } : {}),
    });
  }
  return EventStore.open(target, { readOnly: options.readOnly ?? false, ...(options.engine ? { engine: options.engine } : {}) });
}

interface Item extends AppendManyItem {
  firstVersion: number;
}

function sizeOf(e: RecordedEvent): number {
  const one = (v: unknown) => (v === undefined ? 0 : v instanceof Uint8Array ? v.length : 64);
  return 64 + e.type.length + e.streamId.length + one(e.data) + one(e.metadata);
}

/** Copies `from` into `to`; `onProgress(done)` after each batch; `maxEvents` stops early (tests). */
export async function copyStore(
  from: AnnalsStore,
  to: AnnalsStore,
  options: { onProgress?: (done: number) => void; maxEvents?: number } = {},
): Promise<{ copied: number; skipped: number; metadata: number }> {
  const versions = new Map<string, number>();
  let copied = 0;
  let skipped = 0;
  let batch: Item[] = [];
  let bytes = 0;
  const versionOf = async (streamId: string) => {
    let v = versions.get(streamId);
    if (v === undefined) {
      v = await to.streamVersion(streamId);
      versions.set(streamId, v);
    }
    return v;
  };
  const flush = async () => {
    const todo: Item[] = [];
    for (const item of batch) {
      const have = await versionOf(item.streamId);
      const last = item.firstVersion + item.events.length - 1;
      if (have >= last) {
        skipped += item.events.length;
        continue;
      }
      // An item without a command may have been cut by an earlier run's stop: its rest goes on.
      const done = have - item.firstVersion + 1;
      if (done > 0 && item.commandId === undefined && (await to.readEvent(item.streamId, have))?.id === item.events[done - 1]?.id) {
        skipped += done;
        item.events = item.events.slice(done);
        item.firstVersion += done;
        item.expectedVersion = have;
      }
      if (have !== item.firstVersion - 1) {
        throw new InvalidArgumentError(
          `destination stream '${item.streamId}' is at version ${have}, the source's next event there has version ${item.firstVersion}`,
        );
      }
      todo.push(item);
      versions.set(item.streamId, last);
    }
    if (todo.length > 0) {
      const results = (await to.appendMany(todo.map(({ firstVersion: _, ...item }) => item))) as AppendResult[];
      copied += results.reduce((n, r) => n + r.lastVersion - r.firstVersion + 1, 0);
    }
    batch = [];
    bytes = 0;
    options.onProgress?.(copied + skipped);
  };
  let total = 0;
  let inBatch = 0;
  const seen = new Set<string>();
  for await (const e of hasRawLog(from) ? from[RAW_LOG]() : from.readAll()) {
    seen.add(e.streamId);
    // A command is never cut: it is written whole or not at all.
    if (
      options.maxEvents !== undefined &&
      total >= options.maxEvents &&
      (e.commandId === undefined || e.commandId !== batch.at(-1)?.commandId)
    )
      break;
    total++;
    inBatch++;
    const last = batch[batch.length - 1];
    // One item per run of events of one stream and one command; a new batch only between commands.
    if (last && last.streamId === e.streamId && last.commandId === e.commandId && last.firstVersion + last.events.length === e.version) {
      last.events.push({ type: e.type, data: e.data, metadata: e.metadata, id: e.id });
    } else {
      if (
        batch.length > 0 &&
        (bytes > BATCH_BYTES || inBatch > BATCH_EVENTS) &&
        (e.commandId === undefined || e.commandId !== last?.commandId)
      ) {
        inBatch = 1;
        await flush();
      }
      const item: Item = {
        streamId: e.streamId,
        firstVersion: e.version,
        expectedVersion: e.version - 1,
        events: [{ type: e.type, data: e.data, metadata: e.metadata, id: e.id }],
      };
      if (e.commandId !== undefined) item.commandId = e.commandId;
      batch.push(item);
    }
    bytes += sizeOf(e);
  }
  if (batch.length > 0) await flush();
  const stopped = options.maxEvents !== undefined && total >= options.maxEvents;
  const metadata = stopped ? 0 : await copyMetadata(from, to, seen);
  return { copied, skipped, metadata };
}

const sameMetadata = (a: StoredMetadata, b: StoredMetadata) =>
  a.hardDeleted === b.hardDeleted && a.maxCount === b.maxCount && a.maxAgeMs === b.maxAgeMs && a.truncateBefore === b.truncateBefore;

/**
 * Applies the source's stream metadata (retention rules, soft and hard deletes) to the copied
 * streams, once their events are all there: a soft delete is its truncation, so the stream reads
 * as empty in the copy too and its versions go on. Metadata the destination already has is left
 * alone (a copy run again changes nothing). Returns how many streams were changed.
 */
async function copyMetadata(from: AnnalsStore, to: AnnalsStore, seen: Set<string>): Promise<number> {
  const all: CopiedMetadata[] = [];
  if (hasRawMetadata(from)) all.push(...(await from[RAW_METADATA]()));
  else for (const streamId of seen) all.push({ streamId, metadata: await from.getStreamMetadata(streamId) });
  let changed = 0;
  for (const { streamId, metadata } of all) {
    const have = await to.getStreamMetadata(streamId);
    if (sameMetadata(have, metadata)) continue;
    if (metadata.hardDeleted) await to.deleteStream(streamId, { hard: true });
    else await to.setStreamMetadata(streamId, metadata);
    changed++;
  }
  return changed;
}

export function copyCommand(program: Command): void {
  program
    .command('copy <from> <to>')
    .description(
      'copy every event from one store to another (a directory or a postgres:// URL), keeping order, versions, command ids, ids and metadata; resumable',
    )
    .option('--from-schema <schema>', 'schema of a PostgreSQL source (default annals)')
    .option('--to-schema <schema>', 'schema of a PostgreSQL destination (default annals)')
    .action(async (from: string, to: string, o: { fromSchema?: string; toSchema?: string }) => {
      if (!isPostgresUrl(from)) checkStoreDir(from, false);
      const source = await openTarget(from, { readOnly: true, schema: o.fromSchema });
      try {
        const dest = await openTarget(to, { schema: o.toSchema });
        try {
          const progress = bar('copy');
          progress.start((await source.stats()).eventCount, 0);
          const r = await copyStore(source, dest, { onProgress: (done) => progress.update(done) });
          progress.stop();
          process.stderr.write(`copied ${r.copied} events, skipped ${r.skipped} already present; metadata of ${r.metadata} streams\n`);
        } finally {
          await dest.close();
        }
      } finally {
        await source.close();
      }
    });
}
