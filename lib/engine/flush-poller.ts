/**
 * Keeps the event loop turning, without blocking, for a while after a flush starts (the
 * flushPollMicros option), so the flush's completion is handled on the next turn rather than
 * after the JS thread wakes from sleep: on the bench VM that wake-up was ~100 us of a ~410 us
 * single durable append (a halted CPU is slow to wake). Each turn calls `pending`, which says how
 * many flushes are still pending (the native engine settles the finished ones there); the turns
 * go on while any is and `ms` have not passed since the latest start. The price is the JS
 * thread's CPU while it waits; with ms = 0 nothing runs.
 */
export class FlushPoller {
  private running = false;
  private until = 0;

  constructor(
    private readonly ms: number,
    private readonly pending: () => number,
  ) {}

  /** Called as a flush starts. */
  start(): void {
    if (this.ms <= 0) return;
    this.until = performance.now() + this.ms;
    if (this.running) return;
    this.running = true;
    setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    if (this.pending() > 0 && performance.now() < this.until) setImmediate(this.turn);
    else this.running = false;
  };
}
