/**
 * appendToStream of the Emmett store: one annals append per call, with Emmett's hooks around it.
 *
 * - No onBeforeCommit: one `append` with the mapped expected version; a conflict becomes Emmett's
 *   ExpectedVersionConflictError.
 * - onBeforeCommit: the hook sees the events with the versions they will have and the ids they
 *   will keep, and may append to other streams through its context; the call's events and the
 *   hook's appends are then one atomic appendMany, with the stream pinned to the version the hook
 *   saw: all of it commits, or none (a throwing hook, or a conflict, leaves nothing). When the
 *   stream moved between the hook and the commit and the caller asked for no exact version, the
 *   hook runs again on the new version (at most MAX_HOOK_ATTEMPTS times).
 * - onAfterCommit: called once after the commit with the events as read events (ids and positions
 *   from the AppendResult); its failure is reported by Emmett's rule: the append still succeeds.
 * - No events: a no-op that still checks the expected version (docs/emmett.md).
 */
import { randomUUID } from 'node:crypto';
import type {
  AppendToStreamOptions,
  AppendToStreamResultWithGlobalPosition,
  Event,
  ExpectedStreamVersion,
  ReadEvent,
} from '@event-driven-io/emmett';
import { checkObject, describeValue } from '../arg-checks.js';
import { type AppendResult, type ExpectedVersion, InvalidArgumentError, WrongExpectedVersionError } from '../errors.js';
import type { AppendManyItem, EventStore } from '../event-store.js';
import {
  type AnnalsJsonOptions,
  type AnnalsReadEvent,
  conflict,
  emmettError,
  expectedMatches,
  toEventData,
  toExpectedVersion,
} from './mapping.js';

/** The hook ran on a version the stream left before the commit this many times: give up. */
const MAX_HOOK_ATTEMPTS = 16;

/** What onBeforeCommit may do: append to other streams, in the same atomic commit. */
export interface BeforeCommitContext<Handle> {
  /** The Emmett store the append was called on. */
  eventStore: Handle;
  /** Adds events of another stream (an inline projection, a checkpoint) to the commit. */
  append(streamName: string, events: Event[], options?: { expectedStreamVersion?: ExpectedStreamVersion }): void;
}

export interface AnnalsEventStoreHooks<Handle> {
  /** Runs before the commit, inside its atomic boundary: what it appends through the context
   * commits with the events or not at all; a throw cancels the append. The events carry
   * messageId, streamName and streamPosition (no globalPosition: that is known at commit). */
  onBeforeCommit?: (messages: ReadEvent<Event>[], context: BeforeCommitContext<Handle>) => unknown;
  /** Runs once after the commit with the appended events, positions included; its failure does
   * not fail the append (Emmett's rule for this hook). */
  onAfterCommit?: (messages: AnnalsReadEvent[]) => unknown;
}

export interface AppendScope<Handle> {
  store: EventStore;
  handle: Handle;
  hooks: AnnalsEventStoreHooks<Handle>;
  json: AnnalsJsonOptions;
  warn(message: string): void;
}

const APPEND_KEYS = new Set(['expectedStreamVersion', 'schema']);

export async function appendToStream<Handle>(
  scope: AppendScope<Handle>,
  streamName: unknown,
  events: unknown,
  options: AppendToStreamOptions | undefined,
): Promise<AppendToStreamResultWithGlobalPosition> {
  if (typeof streamName !== 'string' || streamName.length === 0)
    throw new InvalidArgumentError(`streamName must be a non-empty string, got ${describeValue(streamName)}`);
  if (!Array.isArray(events)) throw new InvalidArgumentError(`events must be an array, got ${describeValue(events)}`);
  if (options !== undefined) {
    checkObject('options', options);
    for (const k of Object.keys(options)) if (!APPEND_KEYS.has(k)) throw new InvalidArgumentError(`unknown appendToStream option '${k}'`);
  }
  const wanted = options?.expectedStreamVersion;
  const expected = toExpectedVersion(wanted);
  const downcast = options?.schema?.versioning?.downcast;
  const given = events as Event[];
  const stored = downcast ? given.map((e) => downcast(e)) : given;
  if (given.length === 0) return emptyAppend(scope.store, streamName, expected, wanted);
  let r: AppendResult;
  if (scope.hooks.onBeforeCommit === undefined) {
    const data = stored.map((e, i) => toEventData(e, i, scope.json));
    r = await scope.store.append(streamName, data, { expectedVersion: expected }).catch((err: unknown) => {
      throw emmettError(err, streamName, wanted);
    });
  } else {
    r = await appendWithHook(scope, streamName, given, stored, expected, wanted);
  }
  await afterCommit(scope, streamName, given, r);
  return {
    nextExpectedStreamVersion: BigInt(r.lastVersion),
    createdNewStream: r.firstVersion === 1,
    lastEventGlobalPosition: BigInt(r.position),
  };
}

/** Emmett's stores differ on an append of no events; here it is a no-op that still checks the
 * expected version, and reports the stream as it is. */
async function emptyAppend(
  store: EventStore,
  streamName: string,
  expected: ExpectedVersion,
  wanted: ExpectedStreamVersion | undefined,
): Promise<AppendToStreamResultWithGlobalPosition> {
  const current = await store.streamVersion(streamName);
  if (!expectedMatches(expected, current)) throw conflict(current, wanted);
  const [last] = current > 0 ? await store.readStream(streamName, { direction: 'backward', limit: 1 }) : [];
  return { nextExpectedStreamVersion: BigInt(current), createdNewStream: false, lastEventGlobalPosition: BigInt(last?.position ?? 0) };
}

async function appendWithHook<Handle>(
  scope: AppendScope<Handle>,
  streamName: string,
  given: Event[],
  stored: Event[],
  expected: ExpectedVersion,
  wanted: ExpectedStreamVersion | undefined,
): Promise<AppendResult> {
  const hook = scope.hooks.onBeforeCommit as NonNullable<AnnalsEventStoreHooks<Handle>['onBeforeCommit']>;
  // The version of the stream with appends in flight, as a conflict reported it: streamVersion
  // gives the durable one, which stays behind until their flush ends.
  let latest: number | undefined;
  for (let attempt = 1; ; attempt++) {
    const current = latest ?? (await scope.store.streamVersion(streamName));
    if (!expectedMatches(expected, current)) throw conflict(current, wanted);
    const ids = given.map(() => randomUUID());
    const messages = given.map((e, k) => readEventOf(e, streamName, ids[k] as string, current + k + 1));
    const extra: AppendManyItem[] = [];
    await hook(messages, {
      eventStore: scope.handle,
      append: (name, evs, o) => extra.push(extraItem(name, evs, o, scope.json)),
    });
    const main = { streamId: streamName, events: stored.map((e, i) => toEventData(e, i, scope.json, ids[i])), expectedVersion: current };
    try {
      const [r] = await scope.store.appendMany([main, ...extra]);
      return r as AppendResult;
    } catch (err) {
      const moved = err instanceof WrongExpectedVersionError && err.streamId === streamName;
      if (moved && typeof expected !== 'number' && attempt < MAX_HOOK_ATTEMPTS) {
        latest = err.actualVersion;
        continue;
      }
      throw emmettError(err, streamName, wanted);
    }
  }
}

function extraItem(
  name: unknown,
  events: unknown,
  o: { expectedStreamVersion?: ExpectedStreamVersion } | undefined,
  json: AnnalsJsonOptions,
): AppendManyItem {
  if (typeof name !== 'string' || name.length === 0)
    throw new InvalidArgumentError(`onBeforeCommit append: streamName must be a non-empty string, got ${describeValue(name)}`);
  if (!Array.isArray(events) || events.length === 0)
    throw new InvalidArgumentError(`onBeforeCommit append: events must be a non-empty array, got ${describeValue(events)}`);
  if (o !== undefined) checkObject('onBeforeCommit append options', o);
  const expectedVersion = toExpectedVersion(o?.expectedStreamVersion);
  return { streamId: name, events: events.map((e, i) => toEventData(e, i, json)), expectedVersion };
}

function readEventOf(e: Event, streamName: string, id: string, version: number, position?: number): ReadEvent<Event> & AnnalsReadEvent {
  const own = 'metadata' in e && typeof e.metadata === 'object' && e.metadata !== null ? e.metadata : undefined;
  const metadata = { ...own, messageId: id, streamName, streamPosition: BigInt(version) };
  return {
    type: e.type,
    data: e.data,
    kind: 'Event',
    metadata: position === undefined ? metadata : { ...metadata, globalPosition: BigInt(position) },
  } as ReadEvent<Event> & AnnalsReadEvent;
}

async function afterCommit<Handle>(scope: AppendScope<Handle>, streamName: string, given: Event[], r: AppendResult): Promise<void> {
  const hook = scope.hooks.onAfterCommit;
  if (hook === undefined) return;
  const written = r.events ?? [];
  const messages = given.map((e, k) => {
    const w = written[k];
    return readEventOf(e, streamName, w?.id ?? '', w?.version ?? r.firstVersion + k, w?.position ?? r.position) as AnnalsReadEvent;
  });
  try {
    await hook(messages);
  } catch (err) {
    scope.warn(`onAfterCommit failed (the append is committed): ${(err as Error)?.message ?? String(err)}`);
  }
}
