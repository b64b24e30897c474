/**
 * Durable consumers: subscriptions to the global log whose checkpoint the store keeps, so that a
 * consumer that restarts (or whose process crashed) resumes after the last saved checkpoint:
 * at-least-once, no gap, at most the unsaved tail delivered again.
 *
 * A checkpoint is an event of the consumer's system stream `$$consumer-<name>` (type
 * `$checkpoint`, data `{ position, filter? }`): saving one is an append, so it shares the store's
 * group commit and durability with everything else and needs no file or sync of its own. Streams
 * starting with `$$` are the store's own: applications cannot append to them, and the global log's
 * reads and subscriptions do not return their events.
 *
 * An event counts as handled once the loop asks for the next one, or at `break`/`close()` after it
 * was yielded. Handled positions are saved every SAVE_INTERVAL_MS while they move (one append for
 * all consumers, which rides along with the store's flushes when it is busy), by `checkpoint()`
 * now, and when the subscription ends or the store closes.
 */
import { rejectUnknownKeys } from './arg-checks.js';
import { type ConsumerSubscription, consumerSubscription } from './consumer-subscription.js';
import { ConsumerBusyError, InvalidArgumentError } from './errors.js';
import { compileFilter, type EventFilter } from './event-filter.js';
import type { StoreReader } from './store-reader.js';
import type { ListStreamsOptions, RecordedEvent, StreamInfo, SubscribeOptions } from './types.js';
import { isNonNegativeInteger } from './validation.js';

export const SYSTEM_STREAM_PREFIX = '$$';

/** The keys of subscribe()'s options, a consumer's or not. */
export const SUBSCRIBE_KEYS = new Set(['streamId', 'after', 'fromEnd', 'filter', 'consumer', 'from']);

function throwFirstError(results: unknown[]): void {
  const failure = results.find((r) => r instanceof Error);
  if (failure) throw failure;
}

/** Appends name the application's streams only: the `$$` ones are the store's own. */
export function refuseSystemStreams(items: readonly unknown[]): void {
  for (const it of items) {
    const id = typeof it === 'object' && it !== null ? (it as { streamId?: unknown }).streamId : undefined;
    if (typeof id === 'string' && id.startsWith(SYSTEM_STREAM_PREFIX)) {
      throw new InvalidArgumentError(`stream ids starting with '${SYSTEM_STREAM_PREFIX}' are the store's own: '${id.slice(0, 40)}'`);
    }
  }
}
export const CONSUMER_STREAM_PREFIX = '$$consumer-';
export const CHECKPOINT_TYPE = '$checkpoint';
const SAVE_INTERVAL_MS = 1000;
const MAX_CONSUMER_NAME = 200;

/** A durable consumer as listConsumers gives it. */
export interface ConsumerInfo {
  name: string;
  /** The position of the last event it handled (saved, or handled by its live subscription); 0
   * before its first. */
  position: number;
  /** Whether it has a live subscription in this process. */
  live: boolean;
  /** Events after its position that its filter passes, counted up to LAG_COUNT_CAP. */
  lag: number;
  /** The lag reached the cap: it is at least `lag`. */
  lagCapped: boolean;
  filter?: SubscribeOptions['filter'];
}

/** Lag counts stop here: counting reads the log from the consumer's position. */
export const LAG_COUNT_CAP = 1_000_000;

export type { ConsumerSubscription } from './consumer-subscription.js';

interface LogSubscription extends AsyncIterable<RecordedEvent> {
  close(): void;
}

export interface ConsumerDeps {
  reader: StoreReader;
  listStreams(o: ListStreamsOptions): Promise<{ streams: StreamInfo[]; next?: string }>;
  /** A subscription of the global log after `after` (undefined: from the start) or from its end. */
  subscribeLog(after: number | undefined, fromEnd: boolean, filter: SubscribeOptions['filter']): LogSubscription;
  /** Appends checkpoint events, atomically, and resolves once they are durable. */
  /** Appends atomically: results per item, an Error where one failed. */
  append(items: { streamId: string; events: { type: string; data: unknown }[] }[]): Promise<unknown[]>;
  warn(message: string): void;
}

interface Live {
  handled: number;
  saved: number;
  filter: SubscribeOptions['filter'];
}

export function checkConsumerName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > MAX_CONSUMER_NAME) {
    throw new InvalidArgumentError(`consumer must be a non-empty string of at most ${MAX_CONSUMER_NAME} bytes, got ${typeof name}`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new InvalidArgumentError('consumer must not contain control characters');
  return name;
}

/** A consumer subscription's options, checked (INVALID_ARGUMENT): returns the consumer's name. */
export function checkConsumerOptions(options: SubscribeOptions & { consumer: unknown }): string {
  rejectUnknownKeys('subscribe options', options, SUBSCRIBE_KEYS);
  const name = checkConsumerName(options.consumer);
  if (options.streamId !== undefined || options.after !== undefined || options.fromEnd !== undefined) {
    throw new InvalidArgumentError("a consumer takes filter and from, not streamId, after or fromEnd (from: 'start' | 'end' | a position)");
  }
  const { from } = options;
  if (from !== undefined && from !== 'start' && from !== 'end' && !isNonNegativeInteger(from)) {
    throw new InvalidArgumentError(`from must be 'start', 'end' or a position, got ${typeof from} ${String(from)}`);
  }
  compileFilter(options.filter); // checked now, not at the first step
  return name;
}

export class Consumers {
  private readonly live = new Map<string, Live>();
  /** Positions of subscriptions that ended and are being saved (bounded by the live ones). */
  private readonly ending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly deps: ConsumerDeps) {
    this.timer = setInterval(() => {
      this.saveMoved().catch((err: Error) => this.deps.warn(`consumer checkpoints not saved: ${err.message}`));
    }, SAVE_INTERVAL_MS);
    this.timer.unref();
  }

  subscribe(name: string, o: SubscribeOptions): ConsumerSubscription {
    if (this.live.has(name)) throw new ConsumerBusyError(name);
    // A subscription that just ended may still be saving its position: that one counts.
    const ended = this.ending.get(name);
    const stored = this.checkpointOf(name)?.position;
    const saved = ended === undefined ? stored : Math.max(ended, stored ?? 0);
    const start = saved !== undefined ? { after: saved, fromEnd: false } : startOf(o.from);
    const inner = this.deps.subscribeLog(start.after, start.fromEnd, o.filter);
    // Nothing to save until an event is handled.
    const state: Live = { handled: start.after ?? 0, saved: saved ?? 0, filter: o.filter };
    this.live.set(name, state);
    return consumerSubscription({
      consumer: name,
      inner,
      state,
      ended: () => {
        if (this.live.get(name) !== state) return;
        this.live.delete(name);
        if (this.closed || state.handled <= state.saved) return;
        this.ending.set(name, state.handled);
        this.save([[name, state]])
          .catch((err: Error) => this.deps.warn(`consumer '${name}' checkpoint not saved: ${err.message}`))
          .finally(() => {
            if (this.ending.get(name) === state.handled) this.ending.delete(name);
          });
      },
      save: () => this.save([[name, state]]),
    });
  }

  /** subscribe() with its options checked (INVALID_ARGUMENT). */
  subscribeChecked(options: SubscribeOptions & { consumer: string }): ConsumerSubscription {
    const name = checkConsumerOptions(options);
    const { from } = options;
    if (typeof from === 'number' && from > 0) this.deps.reader.startAfter(from); // an event's position
    return this.subscribe(name, options);
  }

  /** reset() with its arguments checked: `position` an event's position, or 0 for the start. */
  async resetChecked(consumer: unknown, position: unknown): Promise<void> {
    const name = checkConsumerName(consumer);
    if (!isNonNegativeInteger(position)) throw new InvalidArgumentError(`position must be a non-negative integer, got ${typeof position}`);
    if (position > 0) this.deps.reader.startAfter(position); // an event's position, else INVALID_ARGUMENT
    await this.reset(name, position);
  }

  /** Every consumer with a checkpoint stream, its position and its lag behind the end. */
  async list(): Promise<ConsumerInfo[]> {
    await this.saving; // what ended subscriptions are saving is listed as saved
    const names = new Set(this.live.keys());
    let after: string | undefined;
    do {
      const page = await this.deps.listStreams({ prefix: CONSUMER_STREAM_PREFIX, after, limit: 1000 });
      for (const s of page.streams) names.add(s.streamId.slice(CONSUMER_STREAM_PREFIX.length));
      after = page.next;
    } while (after !== undefined);
    return [...names].sort().map((name) => {
      const saved = this.checkpointOf(name);
      const position = Math.max(this.handledOf(name) ?? 0, saved?.position ?? 0);
      const filter = this.live.get(name)?.filter ?? saved?.filter;
      const lag = this.deps.reader.countAfter(position, compileFilter(filter), LAG_COUNT_CAP);
      return { name, position, live: this.live.has(name), lag, lagCapped: lag >= LAG_COUNT_CAP, ...(filter ? { filter } : {}) };
    });
  }

  /** The last checkpoint saved for a consumer: the latest event of its stream. */
  private checkpointOf(name: string): { position: number; filter?: EventFilter } | undefined {
    const id = `${CONSUMER_STREAM_PREFIX}${name}`;
    const { reader } = this.deps;
    const version = reader.visibleVersion(id);
    if (version === 0) return undefined;
    const [e] = reader.streamRange(id, version, version);
    const data = e?.data as { position?: unknown; filter?: EventFilter } | undefined;
    const position = data?.position;
    if (e?.type !== CHECKPOINT_TYPE || !isNonNegativeInteger(position)) return undefined;
    return data?.filter === undefined ? { position } : { position, filter: data.filter };
  }

  /** Moves a consumer's checkpoint (CONSUMER_BUSY while it has a live subscription). */
  async reset(name: string, position: number): Promise<void> {
    if (this.live.has(name)) throw new ConsumerBusyError(name);
    // The position moves; the filter the consumer was saved with stays (its lag is counted by it).
    throwFirstError(await this.deps.append([checkpointItem(name, position, this.checkpointOf(name)?.filter)]));
  }

  /** The handled position of a live consumer, or of one whose end is being saved. */
  private handledOf(name: string): number | undefined {
    return this.live.get(name)?.handled ?? this.ending.get(name);
  }

  /** Saves every moved checkpoint and stops the timer; the store is closing. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.saveMoved();
    this.closed = true;
  }

  private saveMoved(): Promise<void> {
    return this.save([...this.live]);
  }

  /** Appends the checkpoints of the given consumers that moved since saved, one append for all;
   * saves run one after the other, so a later save never lands before an earlier one. */
  private save(consumers: [string, Live][]): Promise<void> {
    const run = this.saving.then(async () => {
      const moved = consumers.filter(([, s]) => s.handled > s.saved);
      if (moved.length === 0) return;
      const marks = moved.map(([, s]) => s.handled);
      throwFirstError(await this.deps.append(moved.map(([name, s]) => checkpointItem(name, s.handled, s.filter))));
      moved.forEach(([, s], i) => {
        s.saved = Math.max(s.saved, marks[i] as number);
      });
    });
    this.saving = run.catch(() => {});
    return run;
  }
}

/** Where a consumer without a checkpoint starts. From the end, it saves nothing until it handles
 * an event: started again before that, it starts from the end again. */
function startOf(from: SubscribeOptions['from']): { after: number | undefined; fromEnd: boolean } {
  if (from === undefined || from === 'start') return { after: undefined, fromEnd: false };
  if (from === 'end') return { after: undefined, fromEnd: true };
  return { after: from, fromEnd: false };
}

function checkpointItem(name: string, position: number, filter: SubscribeOptions['filter']) {
  const data = filter === undefined ? { position } : { position, filter };
  return { streamId: `${CONSUMER_STREAM_PREFIX}${name}`, events: [{ type: CHECKPOINT_TYPE, data }] };
}
