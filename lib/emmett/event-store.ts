/**
 * getAnnalsEventStore: annals as Emmett's EventStore, shaped like emmett-sqlite's
 * getSQLiteEventStore so that switching is one line. The factory is synchronous and the store opens
 * on first use; every handle of one directory in a process shares one open store (shared-stores.ts),
 * closed with the last handle. docs/emmett.md describes the mapping.
 *
 * Reads are consistent with the version they report: readStream and aggregateStream take the
 * stream's version first and read no event past it, so a command handler that appends with that
 * version as expected version never decides on a state older than the version it checks.
 */
import {
  type AggregateStreamOptions,
  type AggregateStreamResultWithGlobalPosition,
  type AppendToStreamOptions,
  type AppendToStreamResultWithGlobalPosition,
  type EventStore as EmmettEventStore,
  type Event,
  type ReadStreamOptions,
  type ReadStreamResult,
  upcastRecordedMessage,
} from '@event-driven-io/emmett';
import { checkObject, describeValue, rejectUnknownKeys } from '../arg-checks.js';
import { InvalidArgumentError, StoreClosedError } from '../errors.js';
import type { EventStore } from '../event-store.js';
import { warn } from '../open-store.js';
import { resolveOptions } from '../options.js';
import type { StoreOptions } from '../types.js';
import { type AnnalsEventStoreHooks, appendToStream } from './append.js';
import { type AnnalsConsumerOptions, AnnalsEventStoreConsumer } from './consumer.js';
import {
  type AnnalsJsonOptions,
  type AnnalsReadEvent,
  type AnnalsReadEventMetadata,
  conflict,
  expectedMatches,
  toExpectedVersion,
  toReadEvent,
} from './mapping.js';
import { holdStore, type StoreHold } from './shared-stores.js';

export interface AnnalsEventStoreOptions extends StoreOptions {
  /** The store's directory (created if absent). */
  directory: string;
  hooks?: AnnalsEventStoreHooks<AnnalsEmmettEventStore>;
  /** JSON of event data and metadata: bigint values and a reviver (mapping.ts). */
  json?: AnnalsJsonOptions;
}

const HOOK_KEYS = new Set(['onBeforeCommit', 'onAfterCommit']);
const JSON_KEYS = new Set(['replacer', 'reviver']);
const READ_KEYS = new Set(['from', 'to', 'maxCount', 'expectedStreamVersion', 'schema']);

/** Opens (on first use) the annals store in `options.directory` as an Emmett EventStore. */
export function getAnnalsEventStore(options: AnnalsEventStoreOptions): AnnalsEmmettEventStore {
  checkObject('options', options);
  const { directory, hooks = {}, json = {}, ...storeOptions } = options;
  if (typeof directory !== 'string' || directory.length === 0)
    throw new InvalidArgumentError(`directory must be a non-empty string, got ${describeValue(directory)}`);
  checkFunctions('hooks', hooks, HOOK_KEYS);
  checkFunctions('json', json, JSON_KEYS);
  resolveOptions(storeOptions); // the store's options are checked now, not at first use
  return new AnnalsEmmettEventStore(holdStore(directory, storeOptions), hooks, json);
}

function checkFunctions(what: string, o: object, keys: ReadonlySet<string>): void {
  checkObject(what, o);
  rejectUnknownKeys(`${what} options`, o, keys);
  for (const [k, v] of Object.entries(o))
    if (v !== undefined && typeof v !== 'function')
      throw new InvalidArgumentError(`${what}.${k} must be a function, got ${describeValue(v)}`);
}

export class AnnalsEmmettEventStore implements EmmettEventStore<AnnalsReadEventMetadata> {
  private closed = false;

  constructor(
    private readonly hold: StoreHold,
    private readonly hooks: AnnalsEventStoreHooks<AnnalsEmmettEventStore>,
    private readonly json: AnnalsJsonOptions,
  ) {}

  /** The annals store under this handle, shared by every handle of its directory. */
  async store(): Promise<EventStore> {
    if (this.closed) throw new StoreClosedError();
    return this.hold.store;
  }

  async readStream<E extends Event, P extends Event = E>(
    streamName: string,
    options?: ReadStreamOptions<bigint, E, P>,
  ): Promise<ReadStreamResult<E, AnnalsReadEventMetadata>> {
    const store = await this.store();
    if (typeof streamName !== 'string' || streamName.length === 0)
      throw new InvalidArgumentError(`streamName must be a non-empty string, got ${describeValue(streamName)}`);
    if (options !== undefined) {
      checkObject('options', options);
      rejectUnknownKeys('readStream options', options, READ_KEYS);
    }
    const from = Math.max(1, countOf(options?.from, 'from') ?? 1);
    const to = countOf(options?.to, 'to');
    const maxCount = countOf(options?.maxCount, 'maxCount');
    const current = await store.streamVersion(streamName);
    if (options?.expectedStreamVersion !== undefined) {
      const expected = toExpectedVersion(options.expectedStreamVersion);
      if (!expectedMatches(expected, current)) throw conflict(current, options.expectedStreamVersion);
    }
    let last = Math.min(current, to ?? current);
    if (maxCount !== undefined) last = Math.min(last, from + maxCount - 1);
    const read = last >= from ? await store.readStream(streamName, { fromVersion: from, limit: last - from + 1 }) : [];
    const upcast = options?.schema?.versioning;
    const events: AnnalsReadEvent[] = [];
    for (const e of read) {
      if (e.version > last) break;
      const r = toReadEvent(e, this.json.reviver);
      events.push(upcast === undefined ? r : (upcastRecordedMessage(r as never, upcast as never) as AnnalsReadEvent));
    }
    return {
      currentStreamVersion: BigInt(current),
      events: events as ReadStreamResult<E, AnnalsReadEventMetadata>['events'],
      streamExists: current > 0,
    };
  }

  async aggregateStream<State, E extends Event, P extends Event = E>(
    streamName: string,
    options: AggregateStreamOptions<State, E, AnnalsReadEventMetadata, P>,
  ): Promise<AggregateStreamResultWithGlobalPosition<State>> {
    checkObject('options', options);
    const { evolve, initialState, read } = options;
    if (typeof evolve !== 'function') throw new InvalidArgumentError(`evolve must be a function, got ${describeValue(evolve)}`);
    if (typeof initialState !== 'function')
      throw new InvalidArgumentError(`initialState must be a function, got ${describeValue(initialState)}`);
    const r = await this.readStream<E, P>(streamName, read);
    let state = initialState();
    for (const e of r.events) state = (evolve as (s: State, e: unknown) => State)(state, e);
    const lastEvent = r.events[r.events.length - 1];
    if (!r.streamExists || lastEvent === undefined) return { currentStreamVersion: r.currentStreamVersion, state, streamExists: false };
    return {
      currentStreamVersion: r.currentStreamVersion,
      state,
      streamExists: true,
      lastEventGlobalPosition: lastEvent.metadata.globalPosition,
    };
  }

  async appendToStream<E extends Event, P extends Event = E>(
    streamName: string,
    events: E[],
    options?: AppendToStreamOptions<bigint, E, P>,
  ): Promise<AppendToStreamResultWithGlobalPosition> {
    const store = await this.store();
    const scope = { store, handle: this, hooks: this.hooks, json: this.json, warn: (m: string) => warn(m, 'ANNALS_EMMETT') };
    return appendToStream(scope, streamName, events, options as AppendToStreamOptions | undefined);
  }

  async streamExists(streamName: string): Promise<boolean> {
    const store = await this.store();
    return (await store.streamVersion(streamName)) > 0;
  }

  /** Emmett's consumer over annals' durable consumers (consumer.ts). */
  consumer(options?: AnnalsConsumerOptions): AnnalsEventStoreConsumer {
    if (this.closed) throw new StoreClosedError();
    return new AnnalsEventStoreConsumer({ store: () => this.store(), reviver: this.json.reviver, context: { eventStore: this } }, options);
  }

  /** Releases this handle; the store closes with the last handle of its directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.hold.release();
  }
}

/** A non-negative stream position or count (bigint or number), or undefined. */
function countOf(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return n;
  throw new InvalidArgumentError(
    `${what} must be a non-negative bigint, got ${typeof v === 'bigint' ? `the bigint ${v}` : describeValue(v)}`,
  );
}
