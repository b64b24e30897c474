/**
 * The append rules of the PostgreSQL store, the same as the embedded store's (append-planner.ts):
 * `prepareCall` validates a call when it is made (bad input rejects at once and is never sent);
 * `planBatch` then checks each call's expected versions and command ids against the state its
 * transaction read under its locks, and against the calls before it in the batch, in call order,
 * and lays out the rows to write. An atomic call fails whole on its first bad item; a non-atomic
 * call item by item.
 */
import { randomFillSync } from 'node:crypto';
import type { AppendItem } from '../append-planner.js';
import {
  type AppendedEvent,
  type AppendResult,
  DuplicateCommandError,
  type ExpectedVersion,
  InvalidArgumentError,
  StreamDeletedError,
  WrongExpectedVersionError,
} from '../errors.js';
import type { ResolvedLimits } from '../options.js';
import { checkCommandId, checkExpectedVersion, checkStreamId, normalizeEvents, versionMatches } from '../validation.js';

export interface PreparedEvent {
  type: string;
  /** As given, or a version 7 UUID made when the call was made. */
  id: string;
  data: string | Uint8Array | undefined;
  metadata: string | Uint8Array | undefined;
}

export interface PreparedItem {
  /** Index in the call's items. */
  index: number;
  streamId: string;
  expected: ExpectedVersion;
  commandId: string | undefined;
  events: PreparedEvent[];
  /** The first event's id was made here (a random UUID, unique: it identifies this write). */
  ownFirstId: boolean;
}

export interface AppendCall {
  /** Items written together or not at all: one group for an atomic call, one per item otherwise. */
  groups: PreparedItem[][];
  atomic: boolean;
  timestamp: number;
  /** Per item: its error now, or its AppendResult once written. */
  results: (AppendResult | Error)[];
  /** Non-atomic items repeating an earlier item's command id, each with that item's index. */
  repeats: Map<number, number>;
  eventCount: number;
  bytes: number;
}

/** PostgreSQL's text cannot hold U+0000; JSON text never does (JSON.stringify escapes it). */
function noNul(name: string, v: string): void {
  if (v.includes('\u0000')) throw new InvalidArgumentError(`${name} contains U+0000, which PostgreSQL text cannot hold`);
}

export function prepareCall(items: AppendItem[], callCommandId: string | undefined, atomic: boolean, limits: ResolvedLimits): AppendCall {
  const call: AppendCall = {
    groups: [],
    atomic,
    timestamp: Date.now(),
    results: new Array(items.length),
    repeats: new Map(),
    eventCount: 0,
    bytes: 0,
  };
  const firstUse = new Map<string, number>();
  items.forEach((raw, i) => {
    try {
      if (typeof raw !== 'object' || raw === null) throw new InvalidArgumentError(`items[${i}] must be an object`);
      const streamId = checkStreamId(raw.streamId, limits);
      const commandId = checkCommandId(raw.commandId) ?? callCommandId;
      const expected = checkExpectedVersion(raw.expectedVersion);
      const normalized = normalizeEvents(streamId, commandId, raw.events, limits, 2 ** 31);
      noNul('streamId', streamId);
      if (commandId !== undefined) noNul('commandId', commandId);
      const events = normalized.map((e, k) => {
        noNul(`events[${k}].type`, e.type);
        if (e.id !== undefined) noNul(`events[${k}].id`, e.id);
        call.bytes +=
          (e.dataBytes ?? (e.data as Uint8Array | undefined)?.length ?? 0) +
          (e.metadataBytes ?? (e.metadata as Uint8Array | undefined)?.length ?? 0) +
          64;
        return { type: e.type, id: e.id ?? uuid7(call.timestamp), data: e.data, metadata: e.metadata };
      });
      if (commandId !== undefined) {
        const earlier = firstUse.get(commandId);
        // In one atomic call, items sharing a command id are that command's events; in separate
        // transactions a second use would store the command twice.
        if (earlier !== undefined && !atomic) {
          call.repeats.set(i, earlier);
          return;
        }
        if (earlier === undefined) firstUse.set(commandId, i);
      }
      const ownFirstId = (normalized[0] as { id?: string }).id === undefined;
      const item: PreparedItem = { index: i, streamId, expected, commandId, events, ownFirstId };
      call.eventCount += events.length;
      if (atomic && call.groups.length > 0) (call.groups[0] as PreparedItem[]).push(item);
      else call.groups.push([item]);
    } catch (err) {
      if (atomic) throw err;
      call.results[i] = err as Error;
    }
  });
  return call;
}

export interface StreamState {
  version: number;
  position: number;
  /** The position of the first event this batch writes to the stream (its first ever, when the
   * stream is new: `streams.first_position` is kept from the row's first insert). */
  first?: number;
}

/** What the append transaction read under its locks, updated as the batch is planned. */
export interface BatchState {
  streams: Map<string, StreamState>;
  /** Streams with a delete: hard-deleted, or soft-deleted below `truncateBefore` (stream_meta). */
  deletes: Map<string, { hard: boolean; truncateBefore: number }>;
  commands: Map<string, AppendResult>;
  nextPosition: number;
}

/** Quotes a string as an SQL literal (the connection's own escaping: pg's escapeLiteral). */
export type Literal = (text: string) => string;

/**
 * The rows of one transaction as SQL value lists: the write goes as one simple-protocol message
 * together with its COMMIT (one round trip), which takes no parameters, so every value is a
 * literal: numbers as digits, text through the connection's escaping, bytes as hex.
 */
export class BatchRows {
  readonly events: string[] = [];
  readonly streams = new Map<string, StreamState>();
  readonly commands: AppendResult[] = [];
  constructor(readonly lit: Literal) {}
  get eventCount(): number {
    return this.events.length;
  }
  value(v: string | Uint8Array | undefined): string {
    if (typeof v === 'string') return `${this.lit(v)}, NULL`;
    if (v instanceof Uint8Array) return `NULL, decode('${asBuffer(v).toString('hex')}', 'hex')`;
    return 'NULL, NULL';
  }
}

const idBytes = Buffer.alloc(16 * 256);
let idNext = idBytes.length;

/** A version 7 UUID: the event's time in milliseconds, then random bits. */
export function uuid7(ms: number): string {
  if (idNext === idBytes.length) {
    randomFillSync(idBytes);
    idNext = 0;
  }
  const b = idBytes.subarray(idNext, idNext + 16);
  idNext += 16;
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | ((b[6] as number) & 0x0f);
  b[8] = 0x80 | ((b[8] as number) & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Checks one group against the state; its first failure, or undefined when all items pass. */
function check(group: PreparedItem[], state: BatchState): Error | undefined {
  const pending = new Map<string, number>();
  const claimed = new Set<string>();
  for (const item of group) {
    if (item.commandId !== undefined && !claimed.has(item.commandId)) {
      const original = state.commands.get(item.commandId);
      if (original) return new DuplicateCommandError(item.commandId, original);
      claimed.add(item.commandId);
    }
    const actual = pending.get(item.streamId) ?? state.streams.get(item.streamId)?.version ?? 0;
    const deleted = state.deletes.get(item.streamId);
    if (deleted?.hard) return new StreamDeletedError(item.streamId);
    // A soft delete leaves the stream reading as empty until an append: then 'no_stream' and 0
    // are taken as its expected version (versions go on), as the embedded store does.
    const empty = deleted !== undefined && actual > 0 && deleted.truncateBefore > actual;
    if (!versionMatches(item.expected, actual, empty)) return new WrongExpectedVersionError(item.streamId, item.expected, actual);
    pending.set(item.streamId, actual + item.events.length);
  }
  return undefined;
}

/** Plans one call into `rows`, filling its results; returns the atomic call's failure, if any. */
export function planCall(call: AppendCall, state: BatchState, rows: BatchRows): Error | undefined {
  for (const group of call.groups) {
    const failure = check(group, state);
    if (failure) {
      if (call.atomic) return failure;
      call.results[(group[0] as PreparedItem).index] = failure;
      continue;
    }
    for (const item of group) {
      const prev = state.streams.get(item.streamId)?.version ?? 0;
      const first = rows.streams.get(item.streamId)?.first ?? state.nextPosition;
      let position = 0;
      const appended: AppendedEvent[] = [];
      const stream = rows.lit(item.streamId);
      const command = item.commandId === undefined ? 'NULL' : rows.lit(item.commandId);
      item.events.forEach((e, k) => {
        position = state.nextPosition++;
        appended.push({ id: e.id, version: prev + k + 1, position });
        const id = rows.lit(e.id);
        rows.events.push(
          `(${position}, ${stream}, ${prev + k + 1}, ${rows.lit(e.type)}, ${rows.value(e.data)}, ${rows.value(e.metadata)}, ${id}, ${command}, ${call.timestamp})`,
        );
      });
      const result: AppendResult = {
        streamId: item.streamId,
        firstVersion: prev + 1,
        lastVersion: prev + item.events.length,
        position,
        events: appended,
      };
      if (item.commandId !== undefined) {
        result.commandId = item.commandId;
        if (!state.commands.has(item.commandId)) {
          // Kept without its events, like the original the embedded store rebuilds from its index.
          const { events: _, ...original } = result;
          state.commands.set(item.commandId, original);
          rows.commands.push(original);
        }
      }
      const latest = { version: result.lastVersion, position, first };
      state.streams.set(item.streamId, latest);
      rows.streams.set(item.streamId, latest);
      call.results[item.index] = result;
    }
  }
  return undefined;
}

/** Fills in the results of repeated command ids once the items they repeat are decided. */
export function settleRepeats(call: AppendCall): void {
  for (const [i, earlier] of call.repeats) {
    const first = call.results[earlier] as AppendResult | Error;
    call.results[i] = first instanceof Error ? first : new DuplicateCommandError(first.commandId as string, first);
  }
}
