/**
 * The end-to-end workload's events, as each contender's process builds them: the stream's next
 * expected version is tracked here (the workload knows what it wrote), so every contender is
 * handed the same expectations. Shared with the client-cost measurement (clientCost), which
 * builds the 8-in-flight phase's events without any store.
 */
import { payload } from '../workload.js';
import type { BenchEvent } from './contenders.js';

/** Events of the 8-in-flight phase for a run of `events`: a quarter, in whole rounds of 8 batches. */
export function inFlightEvents(events: number): number {
  return Math.max(800, Math.floor(events / 4 / 800) * 800);
}

export class EventSource {
  readonly versions = new Map<string, number>();

  event(stream: string, i: number, commandId: string): BenchEvent {
    const expected = this.versions.get(stream) ?? 0;
    this.versions.set(stream, expected + 1);
    return { stream, expected, commandId, type: 'OrderPlaced', data: payload(i) };
  }

  /**
   * The first event of a stream the workload has never written (the in-flight and single-append
   * phases give each event its own): expected version 0, not tracked. Tracking them put ~262k
   * entries in `versions`, whose doubling at 2^18 (a ~60-90 ms pause of the harness itself on the
   * bench VM) landed inside the 64-in-flight phase, ~350 ms long, for every contender.
   */
  fresh(stream: string, i: number, commandId: string): BenchEvent {
    return { stream, expected: 0, commandId, type: 'OrderPlaced', data: payload(i) };
  }
}

/**
 * Microseconds per event that the workload itself spends, with no store, to build the events of
 * the 8-in-flight phase (100-event batches, a new stream per event) and
 * to turn their payloads into JSON, which a store of JSON payloads must do too: what any
 * contender's throughput there is capped by, on the one JS thread. Best of `rounds`.
 */
export function clientCost(events: number, rounds = 3): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    const source = new EventSource();
    let bytes = 0;
    const t = performance.now();
    for (let b = 0; b < events / 100; b++) {
      const batch = Array.from({ length: 100 }, (_, k) => source.fresh(`p8-${b}-${k}`, b * 100 + k, `p8-${b * 100 + k}`));
      for (const e of batch) bytes += JSON.stringify(e.data).length;
    }
    best = Math.min(best, ((performance.now() - t) * 1000) / events);
    if (bytes === 0) throw new Error('no payload built');
  }
  return best;
}
