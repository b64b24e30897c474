/**
 * Turns the items of one append call into transactions: validates each item, checks its expected
 * version and command id against the store's state (and against the items before it in the call),
 * and encodes it. Atomic calls become one transaction and fail whole on the first bad item;
 * non-atomic calls become one transaction per good item, with the error in place of each bad one.
 */
import { checkObject, rejectUnknownKeys } from './arg-checks.js';
import { type AppendResult, DuplicateCommandError, LimitExceededError, WrongExpectedVersionError } from './errors.js';
import { type EncodedTransaction, encodeTransaction, type TransactionItem } from './format/record-codec.js';
import type { ResolvedLimits } from './options.js';
import { checkCommandId, checkExpectedVersion, checkStreamId, normalizeEvents, versionMatches } from './validation.js';

export interface AppendItem {
  streamId: unknown;
  events: unknown;
  expectedVersion?: unknown;
  commandId?: unknown;
}

export interface PlannedAppend {
  streamId: string;
  firstVersion: number;
  count: number;
  /** Each event's type (the index's type entries). */
  types: string[];
  commandId?: string;
}

export interface PlannedTransaction {
  encoded: EncodedTransaction;
  appends: PlannedAppend[];
  /** Index in the call's items of each append. */
  itemIndexes: number[];
}

export interface Plan {
  transactions: PlannedTransaction[];
  /** Per item: its error now, or its AppendResult once written. */
  results: (AppendResult | Error)[];
  /** Items (non-atomic calls) repeating the command id of an earlier item of the call, each with
   * the index of that item: a DuplicateCommandError once the earlier item's result is known. */
  repeats: ReadonlyMap<number, number>;
}

export interface StoreState {
  limits: ResolvedLimits;
  chunkSize: number;
  /** Events without an id may store none (LogWriter.derivesIds). */
  deriveIds: boolean;
  /** The stream's latest version and the position of that event (0, 0 for no events). */
  latest(streamId: string): { version: number; position: number };
  /** The first result of a stored command, undefined if unknown. */
  command(commandId: string): AppendResult | undefined;
}

/** The maps of a one-item call: empty, and never written (`single` guards every set). */
const NO_IDS = new Map<string, number>();
const NO_REPEATS = new Map<number, number>();
/** The fields of an append item (appendMany's items; append's options are checked before). */
const ITEM_KEYS: ReadonlySet<string> = new Set(['streamId', 'events', 'expectedVersion', 'commandId']);

export function planAppends(items: AppendItem[], callCommandId: string | undefined, atomic: boolean, state: StoreState): Plan {
  const results: (AppendResult | Error)[] = new Array(items.length);
  // What items of one call must know of each other; a call of one item (the common single
  // append) needs none of it, so its maps are the shared empty one, never written.
  const single = items.length === 1;
  const pendingVersions = single ? NO_IDS : new Map<string, number>();
  const firstUse = single ? NO_IDS : new Map<string, number>();
  const repeats = single ? NO_REPEATS : new Map<number, number>();
  const txItems: TransactionItem[][] = [];
  const indexes: number[][] = [];
  items.forEach((raw, i) => {
    try {
      checkObject(`items[${i}]`, raw);
      rejectUnknownKeys(`items[${i}]`, raw, ITEM_KEYS);
      const streamId = checkStreamId(raw.streamId, state.limits, true);
      const commandId = checkCommandId(raw.commandId) ?? callCommandId;
      const expected = checkExpectedVersion(raw.expectedVersion);
      const events = normalizeEvents(streamId, commandId, raw.events, state.limits, state.chunkSize);
      if (commandId !== undefined) {
        const original = state.command(commandId);
        if (original) throw new DuplicateCommandError(commandId, original);
        // In one atomic transaction, items sharing a command id are that command's events; in
        // separate transactions a second use would store the command twice.
        const earlier = firstUse.get(commandId);
        if (earlier !== undefined && !atomic) {
          repeats.set(i, earlier);
          return;
        }
        if (!single) firstUse.set(commandId, i);
      }
      const latest = state.latest(streamId);
      const actual = pendingVersions.get(streamId) ?? latest.version;
      if (!versionMatches(expected, actual)) throw new WrongExpectedVersionError(streamId, expected, actual);
      if (actual + events.length > 0xffffffff) throw new LimitExceededError(`stream '${streamId}' would pass version 2^32 - 1`);
      if (!single) pendingVersions.set(streamId, actual + events.length);
      const item: TransactionItem = { streamId, events, firstVersion: actual + 1, prevPosition: latest.position };
      if (commandId !== undefined) item.commandId = commandId;
      if (atomic && txItems.length > 0) {
        (txItems[0] as TransactionItem[]).push(item);
        (indexes[0] as number[]).push(i);
      } else {
        txItems.push([item]);
        indexes.push([i]);
      }
    } catch (err) {
      if (atomic) throw err;
      results[i] = err as Error;
    }
  });
  const timestamp = Date.now();
  const lastPositions = single ? undefined : new Map<string, number>();
  const transactions = txItems.map((tx, k) => ({
    encoded: encodeTransaction(tx, timestamp, lastPositions, state.deriveIds),
    appends: tx.map((t) => {
      const a: PlannedAppend = {
        streamId: t.streamId,
        firstVersion: t.firstVersion,
        count: t.events.length,
        types: t.events.map((e) => e.type),
      };
      if (t.commandId !== undefined) a.commandId = t.commandId;
      return a;
    }),
    itemIndexes: indexes[k] as number[],
  }));
  return { transactions, results, repeats };
}
