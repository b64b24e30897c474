/** What the conformance tests are given: a way to make a store and to open it again. */
import type { AnnalsStore } from '../store-api.js';
import type { RecordedEvent } from '../types.js';

/** The options every store takes alike; the tests use no others. */
export interface ConformanceOptions {
  limits?: { maxStreamIdBytes?: number; maxEventTypeBytes?: number; maxEventBytes?: number; maxEventsPerAppend?: number };
}

export interface ConformanceFactory {
  /** A new, empty store. */
  create(options?: ConformanceOptions): Promise<AnnalsStore>;
  /** The store `create` made, opened again (the suite closed `store` first). */
  reopen(store: AnnalsStore, options?: ConformanceOptions): Promise<AnnalsStore>;
  /** After each test, once its stores are closed: remove what they left. */
  cleanup?(): Promise<void>;
  /** When set, every test is skipped and this says why. */
  skip?: string;
}

export interface Harness {
  create(options?: ConformanceOptions): Promise<AnnalsStore>;
  /** Closes `store` and opens it again. */
  reopen(store: AnnalsStore, options?: ConformanceOptions): Promise<AnnalsStore>;
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Collects `n` events from an async iterable, then stops. */
export async function take(it: AsyncIterable<RecordedEvent>, n: number): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  if (n === 0) return out;
  for await (const e of it) {
    out.push(e);
    if (out.length >= n) break;
  }
  return out;
}

/** The error `fn` throws or rejects with (undefined when it does neither). */
export async function failure(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

export async function appendN(s: AnnalsStore, stream: string, n: number, tag: string): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => s.append(stream, [{ type: 'T', data: `${tag}-${i}` }])));
}
