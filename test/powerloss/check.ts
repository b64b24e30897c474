/**
 * The checks of one post-crash image, those of the SIGKILL matrix (test/crash.test.ts): every
 * append acknowledged before the cut readable by command id with its last version, appends whole,
 * versions contiguous, positions increasing, reads agreeing with the log, snapshots not beyond
 * their stream, `verifyStore` clean, and a second open changing nothing. Problems are returned,
 * not thrown, so one run can report all of them with the cut and seed that show them.
 */
import { type EngineName, EventStore, type RecordedEvent } from '../../lib/index.js';
import { verifyStore } from '../../lib/verify.js';
import { collect } from '../helpers.js';
import type { Ack } from './replay.js';

/** The workload's store options (test/fixtures/powerloss-writer.ts). */
export const STORE_OPTIONS = { chunkSize: 1 << 20, indexMemtableEntries: 300, maxIndexSegments: 3 };

export interface ImageResult {
  acksChecked: number;
  lost: string[];
  /** Acknowledged appends whose command read returned only some of their events, while the log
   * holds them whole (a replay that split a command over two memtables did this). */
  partialReads: string[];
  problems: string[];
  events: number;
  torn: boolean;
}

/** Opens the image at `dir` with `engine` and checks it against the appends acknowledged before the cut. */
export async function checkImage(dir: string, engine: EngineName, acks: Ack[]): Promise<ImageResult> {
  const result: ImageResult = { acksChecked: 0, lost: [], partialReads: [], problems: [], events: 0, torn: false };
  let store: EventStore | undefined;
  try {
    store = await EventStore.open(dir, { engine, ...STORE_OPTIONS });
    result.torn = (await store.stats()).recovery.torn;
    await checkAcks(store, acks, result);
    await checkLog(store, acks, result);
    await store.close();
    store = undefined;
    for (const f of verifyStore(dir).faults) result.problems.push(`verify: ${f.file} at ${f.offset}: ${f.problem}`);
    const again = await EventStore.open(dir, { engine, ...STORE_OPTIONS });
    const stats = await again.stats();
    await again.close();
    if (stats.eventCount !== result.events) result.problems.push(`second open: ${stats.eventCount} events, not ${result.events}`);
    if (stats.recovery.torn) result.problems.push('second open found a torn tail');
  } catch (err) {
    result.problems.push(`${(err as Error).name}: ${(err as Error).message}`);
  } finally {
    await store?.close().catch(() => {});
  }
  return result;
}

async function checkAcks(store: EventStore, acks: Ack[], result: ImageResult): Promise<void> {
  for (const a of acks) {
    result.acksChecked++;
    const events = await store.readCommand(a.commandId);
    if (!events) {
      result.lost.push(a.commandId);
      continue;
    }
    const last = events.at(-1);
    if (events.length < a.count && last?.version === a.lastVersion && last.streamId === a.streamId) {
      result.partialReads.push(`${a.commandId}: ${events.length} of ${a.count} events`);
    } else if (events.length !== a.count || last?.version !== a.lastVersion || last.streamId !== a.streamId) {
      result.problems.push(
        `${a.commandId}: ${events.length} events ending at ${last?.streamId}@${last?.version}, acknowledged ${a.count} ending at ${a.streamId}@${a.lastVersion}`,
      );
    }
  }
}

async function checkLog(store: EventStore, acks: Ack[], result: ImageResult): Promise<void> {
  const all = await collect(store.readAll());
  result.events = all.length;
  const next = new Map<string, number>();
  const byCommand = new Map<string, RecordedEvent[]>();
  let lastPosition = 0;
  for (const e of all) {
    const expected = (next.get(e.streamId) ?? 0) + 1;
    if (e.version !== expected) result.problems.push(`${e.streamId}: version ${e.version} at ${e.position}, expected ${expected}`);
    if (e.position <= lastPosition) result.problems.push(`position ${e.position} after ${lastPosition}`);
    next.set(e.streamId, e.version);
    lastPosition = e.position;
    const id = e.commandId ?? '';
    byCommand.set(id, [...(byCommand.get(id) ?? []), e]);
  }
  for (const [commandId, events] of byCommand) {
    const size = (events[0]?.data as { count: number } | undefined)?.count;
    if (events.length !== size) result.problems.push(`append ${commandId} is partial: ${events.length} of ${size} events`);
  }
  for (const a of acks) if (!next.has(a.streamId)) next.set(a.streamId, 0);
  for (const [stream, v] of next) {
    if ((await store.streamVersion(stream)) !== v) result.problems.push(`${stream}: streamVersion disagrees with the log (${v})`);
    if ((await store.readStream(stream)).length !== v) result.problems.push(`${stream}: readStream disagrees with the log (${v})`);
    const snap = await store.loadSnapshot(stream);
    if (snap && snap.version > v) result.problems.push(`${stream}: snapshot at ${snap.version} beyond the stream (${v})`);
  }
  const stats = await store.stats();
  if (stats.eventCount !== all.length) result.problems.push(`stats().eventCount ${stats.eventCount}, log ${all.length}`);
}
