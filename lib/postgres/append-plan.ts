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
  type AppendResult,
  DuplicateCommandError,
  type ExpectedVersion,
  InvalidArgumentError,
  WrongExpectedVersionError,
} from '../errors.js';
import type { ResolvedLimits } from '../options.js';
import { checkCommandId, checkExpectedVersion, checkStreamId, normalizeEvents, versionMatches } from '../validation.js';

export interface PreparedEvent {
  type: string;
  id: string | undefined;
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
        return { type: e.type, id: e.id, data: e.data, metadata: e.metadata };
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
      const item: PreparedItem = { index: i, streamId, expected, commandId, events };
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
}

/** What the append transaction read under its locks, updated as the batch is planned. */
export interface BatchState {
  streams: Map<string, StreamState>;
  commands: Map<string, AppendResult>;
  nextPosition: number;
}

/** The rows of one transaction, as the column arrays its write statement takes. */
export class BatchRows {
  readonly ev: unknown[][] = Array.from({ length: 11 }, () => []);
  readonly streams = new Map<string, StreamState>();
  readonly commands: AppendResult[] = [];
  get eventCount(): number {
    return (this.ev[0] as unknown[]).length;
  }
  params(): unknown[] {
    const ids = [...this.streams.keys()];
    const st = [...this.streams.values()];
    const c = this.commands;
    return [
      ...this.ev,
      ids,
      st.map((x) => x.version),
      st.map((x) => x.position),
      c.map((r) => r.commandId),
      c.map((r) => r.streamId),
      c.map((r) => r.firstVersion),
      c.map((r) => r.lastVersion),
      c.map((r) => r.position),
    ];
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
    if (!versionMatches(item.expected, actual)) return new WrongExpectedVersionError(item.streamId, item.expected, actual);
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
      let position = 0;
      item.events.forEach((e, k) => {
        position = state.nextPosition++;
        const [pos, sid, ver, type, data, dataBytes, meta, metaBytes, id, cmd, ts] = rows.ev as unknown[][];
        pos!.push(position);
        sid!.push(item.streamId);
        ver!.push(prev + k + 1);
        type!.push(e.type);
        data!.push(typeof e.data === 'string' ? e.data : null);
        dataBytes!.push(e.data instanceof Uint8Array ? asBuffer(e.data) : null);
        meta!.push(typeof e.metadata === 'string' ? e.metadata : null);
        metaBytes!.push(e.metadata instanceof Uint8Array ? asBuffer(e.metadata) : null);
        id!.push(e.id ?? uuid7(call.timestamp));
        cmd!.push(item.commandId ?? null);
        ts!.push(call.timestamp);
      });
      const result: AppendResult = { streamId: item.streamId, firstVersion: prev + 1, lastVersion: prev + item.events.length, position };
      if (item.commandId !== undefined) {
        result.commandId = item.commandId;
        if (!state.commands.has(item.commandId)) {
          state.commands.set(item.commandId, result);
          rows.commands.push(result);
        }
      }
      const latest = { version: result.lastVersion, position };
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
