/**
 * Wakes the store's subscriptions: on the server's notifications (LISTEN on the store's channel,
 * one connection for all subscriptions, reconnected with back-off when it breaks), after each of
 * this store's own commits, and every `pollIntervalMs` while any subscription is open (a
 * notification may be lost with a broken connection, and rows of a transaction become readable
 * in global order only once older transactions end, which sends no notification). An open
 * subscription keeps the process alive; closing it (or the store) lets the process end. A wake-up only
 * makes subscriptions read from their own cursors, so a missed or extra one loses or repeats
 * nothing.
 */
import pg from 'pg';
import { type Subscription, subscription, VisibilitySignal } from '../subscription.js';
import type { RecordedEvent } from '../types.js';

export class Listener {
  readonly signal = new VisibilitySignal();
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private users = 0;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly pollIntervalMs: number,
  ) {}

  /** A subscription started: listen and poll while any runs. */
  acquire(): void {
    this.users++;
    if (this.users > 1 || this.stopped) return;
    // Not unref'd: a process following the log of other processes waits for their events.
    this.timer = setInterval(() => this.signal.notify(), this.pollIntervalMs);
    this.connect(100);
  }

  release(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.retry);
    const c = this.client;
    this.client = undefined;
    void c?.end().catch(() => {});
  }

  close(): void {
    this.stopped = true;
    this.users = 1;
    this.release();
    this.signal.notify();
  }

  private connect(delay: number): void {
    if (this.stopped || this.users === 0) return;
    const client = new pg.Client(this.config);
    this.client = client;
    const broken = () => {
      if (this.client !== client) return;
      this.client = undefined;
      void client.end().catch(() => {});
      this.retry = setTimeout(() => this.connect(Math.min(delay * 2, 2000)), delay);
      this.retry.unref();
    };
    client.on('error', broken);
    client.on('end', broken);
    client.on('notification', () => this.signal.notify());
    client
      .connect()
      .then(() => client.query(`LISTEN "${this.channel}"`))
      .then(() => {
        // Anything committed while no connection listened is read now.
        this.signal.notify();
        (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
      })
      .catch(broken);
  }

  /** A subscription over `next` that keeps the listener running while it is open. */
  subscription(next: () => Promise<RecordedEvent[]>, ended: () => boolean): Subscription {
    this.acquire();
    const inner = subscription(this.signal, next, ended);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.release();
    };
    return {
      close: () => {
        inner.close();
        release();
      },
      [Symbol.asyncIterator]: () => {
        const it = inner[Symbol.asyncIterator]() as AsyncGenerator<RecordedEvent>;
        return {
          next: async () => {
            const r = await it.next().catch((err: unknown) => {
              release();
              throw err;
            });
            if (r.done) release();
            return r;
          },
          return: async (v?: unknown) => {
            release();
            return it.return(v);
          },
          [Symbol.asyncIterator]() {
            return this;
          },
        } as AsyncGenerator<RecordedEvent>;
      },
    };
  }
}
