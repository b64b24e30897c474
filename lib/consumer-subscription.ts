/**
 * What counts as handled in a durable consumer's subscription, for both stores (consumers.ts,
 * postgres/pg-consumers.ts): an event is handled once the loop asks for the next one, or breaks
 * or closes after it (at-least-once: a crash before that delivers it again); abandon() leaves the
 * event yielded last unhandled, even if the loop then goes on.
 */
import type { RecordedEvent } from './types.js';

/** A durable consumer's subscription: a Subscription that can also save its checkpoint now. */
export interface ConsumerSubscription extends AsyncIterable<RecordedEvent> {
  readonly consumer: string;
  close(): void;
  /** Ends the subscription like close(), but the event it yielded last counts as not handled:
   * the next subscription of the consumer delivers it again (a handler that failed on it). */
  abandon(): void;
  /** Saves the position of the events handled so far; resolves once that is durable. */
  checkpoint(): Promise<void>;
}

export interface HandledTracking {
  consumer: string;
  /** The log subscription the events come from. */
  inner: AsyncIterable<RecordedEvent> & { close(): void };
  /** The position handled so far: moved here, saved by the store. */
  state: { handled: number };
  /** The subscription ended (called again harmlessly): the store saves `state` and frees the name. */
  ended(): void;
  /** Saves `state` now. */
  save(): Promise<void>;
  /** Checked before each event; when it returns an error the loop ends with it (a lost lock). */
  failure?(): Error | undefined;
}

export function consumerSubscription(t: HandledTracking): ConsumerSubscription {
  const { inner, state } = t;
  let pending: number | undefined;
  let abandoned = false;
  const fold = () => {
    if (pending !== undefined) state.handled = Math.max(state.handled, pending);
    pending = undefined;
  };
  const end = () => {
    fold();
    t.ended();
  };
  async function* run(): AsyncGenerator<RecordedEvent> {
    try {
      for await (const e of inner) {
        if (t.failure?.()) break;
        pending = e.position;
        yield e;
        if (abandoned) break;
        state.handled = e.position;
        pending = undefined;
      }
      const failure = t.failure?.();
      if (failure) throw failure;
    } finally {
      end();
    }
  }
  return {
    consumer: t.consumer,
    close: () => {
      inner.close();
      end();
    },
    abandon: () => {
      abandoned = true;
      pending = undefined;
      inner.close();
      end();
    },
    checkpoint: () => {
      fold();
      return t.save();
    },
    [Symbol.asyncIterator]: () => run(),
  };
}
