/**
 * Emmett's consumer on annals' durable consumers: each processor reads the global log through the
 * durable consumer `emmett:<processor id>`, whose checkpoint the store keeps (consumers.ts), so a
 * processor resumes after restart where it stopped: at-least-once, in log order, no gap.
 *
 * Where a processor starts: after its saved checkpoint when the store has one; otherwise where the
 * processor's own start() says (BEGINNING, END, or after `{ lastCheckpoint }`).
 *
 * Each event goes to `processor.handle([event], context)` once the one before it was handled; it
 * counts as handled when handle resolves. A handler that throws ends the consumer with that error
 * (start() rejects) and leaves the event unhandled: the next start delivers it again. A processor
 * that answers STOP (or whose stopAfter matches) ends; start() resolves once every processor ended,
 * or on stop()/close().
 */
import { EmmettError, type MessageProcessor, type ReactorOptions, reactor } from '@event-driven-io/emmett';
import { describeValue } from '../arg-checks.js';
import type { ConsumerSubscription } from '../consumers.js';
import { InvalidArgumentError } from '../errors.js';
import type { EventStore } from '../event-store.js';
import type { RecordedEvent } from '../types.js';
import { type AnnalsReadEventMetadata, type JsonTransform, toReadEvent } from './mapping.js';

/** A processor as Emmett's consumers take it. */
// biome-ignore lint/suspicious/noExplicitAny: Emmett's own consumer options take processors of any context and checkpoint
export type AnnalsProcessor = MessageProcessor<any, any, any, any>;

export interface AnnalsConsumerOptions {
  consumerId?: string;
  processors?: AnnalsProcessor[];
}

export const CONSUMER_NAME_PREFIX = 'emmett:';

export interface ConsumerScope {
  store(): Promise<EventStore>;
  reviver: JsonTransform | undefined;
  /** The context every handle call gets (the Emmett store). */
  context: Record<string, unknown>;
}

export class AnnalsEventStoreConsumer {
  readonly consumerId: string;
  readonly processors: AnnalsProcessor[];
  private running: Promise<void> | undefined;
  private subscriptions: ConsumerSubscription[] = [];
  /** stop() was called on this run: a processor still starting does not subscribe. */
  private stopping = false;

  constructor(
    private readonly scope: ConsumerScope,
    options: AnnalsConsumerOptions = {},
  ) {
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError(`options must be an object, got ${describeValue(options)}`);
    const { consumerId, processors = [] } = options;
    if (consumerId !== undefined && typeof consumerId !== 'string')
      throw new InvalidArgumentError(`consumerId must be a string, got ${describeValue(consumerId)}`);
    if (!Array.isArray(processors)) throw new InvalidArgumentError(`processors must be an array, got ${describeValue(processors)}`);
    processors.forEach(checkProcessor);
    this.consumerId = consumerId ?? `annals-consumer-${process.pid}`;
    this.processors = [...processors];
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Adds a reactor (Emmett's `reactor(options)`) to the consumer. */
  // biome-ignore lint/suspicious/noExplicitAny: the reactor's message and context types are the caller's
  reactor(options: ReactorOptions<any, AnnalsReadEventMetadata, any>): AnnalsProcessor {
    const p = reactor(options);
    this.processors.push(p);
    return p;
  }

  /** Starts every processor; resolves when all ended (STOP, stopAfter, stop() or close()),
   * rejects with the first handler error. */
  start(): Promise<void> {
    if (this.running !== undefined) return this.running;
    if (this.processors.length === 0) return Promise.reject(new EmmettError('Cannot start consumer without at least a single processor'));
    this.stopping = false;
    const run = this.runAll().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  /** Ends every processor's subscription; resolves once the consumer stopped. */
  async stop(): Promise<void> {
    const run = this.running;
    this.stopping = true;
    for (const s of this.subscriptions.splice(0)) s.close();
    await run?.catch(() => {});
  }

  async close(): Promise<void> {
    await this.stop();
    await Promise.all(this.processors.map((p) => p.close(this.scope.context)));
  }

  private async runAll(): Promise<void> {
    const store = await this.scope.store();
    const loops = this.processors.map(async (p) => {
      const sub = await this.subscribe(store, p);
      if (sub === undefined) return;
      try {
        await this.feed(p, sub);
      } catch (err) {
        // This processor failed; the others end too, so start() reports the error once all stopped.
        this.stopping = true;
        for (const s of this.subscriptions.splice(0)) s.close();
        throw err;
      }
    });
    const results = await Promise.allSettled(loops);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async subscribe(store: EventStore, p: AnnalsProcessor): Promise<ConsumerSubscription | undefined> {
    const from = await p.start(this.scope.context);
    if (this.stopping) return undefined;
    const start = from === 'END' ? 'end' : typeof from === 'object' && from !== null ? positionOf(from.lastCheckpoint) : 'start';
    const sub = store.subscribe({ consumer: `${CONSUMER_NAME_PREFIX}${p.id}`, from: start });
    this.subscriptions.push(sub);
    return sub;
  }

  /** One event at a time: the next is asked for only after handle resolved (at-least-once). */
  private async feed(p: AnnalsProcessor, sub: ConsumerSubscription): Promise<void> {
    const it = sub[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        let result: unknown;
        try {
          result = await p.handle([toReadEvent(next.value as RecordedEvent, this.scope.reviver)], this.scope.context);
        } catch (err) {
          sub.abandon();
          throw err;
        }
        const stop = typeof result === 'object' && result !== null && (result as { type?: unknown }).type === 'STOP';
        if (stop || !p.isActive) {
          sub.close();
          return;
        }
      }
    } finally {
      await it.return?.();
      const i = this.subscriptions.indexOf(sub);
      if (i >= 0) this.subscriptions.splice(i, 1);
    }
  }
}

function checkProcessor(p: unknown, i: number): void {
  const ok =
    typeof p === 'object' &&
    p !== null &&
    typeof (p as { id?: unknown }).id === 'string' &&
    typeof (p as { start?: unknown }).start === 'function' &&
    typeof (p as { handle?: unknown }).handle === 'function';
  if (!ok)
    throw new InvalidArgumentError(`processors[${i}] must be an Emmett processor ({ id, start, handle, … }), got ${describeValue(p)}`);
}

/** A processor's own checkpoint (a global position, bigint or number) as a consumer start. */
function positionOf(checkpoint: unknown): number | 'start' {
  const n = typeof checkpoint === 'bigint' ? Number(checkpoint) : checkpoint;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : 'start';
}
