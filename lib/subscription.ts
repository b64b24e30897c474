/**
 * Subscriptions: catch up from a position, then stay live. A subscription is a cursor over the log
 * (or over one stream's versions) that reads what readers may see (`visibleEnd`) and then waits for
 * the LogWriter to publish more. Because it always resumes from its own cursor there is no gap and
 * no duplicate across the switch from catch-up to live. It pulls: nothing is buffered for a slow
 * consumer.
 */
import type { StoreReader } from './store-reader.js';
import type { RecordedEvent } from './types.js';

/** Wakes waiting subscriptions whenever the visible end of the log moves (or the store closes). */
export class VisibilitySignal {
  private waiters: (() => void)[] = [];

  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  wait(): { promise: Promise<void>; cancel: () => void } {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    this.waiters.push(resolve);
    return {
      promise,
      cancel: () => {
        this.waiters = this.waiters.filter((w) => w !== resolve);
        resolve();
      },
    };
  }
}

export interface Subscription extends AsyncIterable<RecordedEvent> {
  close(): void;
}

/**
 * Builds a subscription from `next`, which returns the next batch after the cursor (empty when
 * caught up) and advances it; `ended` tells when the store is gone.
 */
export function subscription(signal: VisibilitySignal, next: () => Promise<RecordedEvent[]>, ended: () => boolean): Subscription {
  let closed = false;
  let pending: { cancel: () => void } | undefined;
  const close = () => {
    closed = true;
    pending?.cancel();
  };
  async function* run(): AsyncGenerator<RecordedEvent> {
    try {
      while (!closed && !ended()) {
        // Register before reading so a publish between the read and the wait is not missed.
        const waiter = signal.wait();
        pending = waiter;
        const batch = await next();
        if (batch.length > 0) {
          waiter.cancel();
          for (const e of batch) {
            if (closed) return;
            yield e;
          }
          continue;
        }
        await waiter.promise;
      }
    } finally {
      closed = true;
      pending?.cancel();
    }
  }
  let started = false;
  return {
    close,
    [Symbol.asyncIterator]() {
      if (started) throw new TypeError('a subscription can be iterated once');
      started = true;
      return run();
    },
  };
}

/**
 * A subscription to one stream (`streamId`) or the whole log, from `from`: after that position,
 * from the beginning (undefined), or only what becomes visible from now on ('end'). Arguments are
 * checked by the caller (EventStore.subscribe).
 */
export function subscribeTo(
  reader: StoreReader,
  visibleEnd: () => number,
  signal: VisibilitySignal,
  ended: () => boolean,
  streamId: string | undefined,
  from: number | 'end' | undefined,
): Subscription {
  if (streamId !== undefined) {
    let next = from === 'end' ? reader.visibleVersion(streamId) + 1 : from === undefined ? 1 : reader.firstVersionAfter(streamId, from);
    const batch = async () => {
      const events = reader.streamBatch(streamId, next);
      next += events.length;
      return events;
    };
    return subscription(signal, batch, ended);
  }
  let cursor = from === 'end' ? visibleEnd() : reader.startAfter(from);
  const batch = async () => {
    const { events, next } = reader.logBatch(cursor);
    cursor = next;
    return events;
  };
  return subscription(signal, batch, ended);
}
