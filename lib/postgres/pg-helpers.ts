/** Pieces of the PostgreSQL store that need nothing of its state: argument checks, snapshot
 * encoding, and the fold of `aggregate` over the store's public reads. */
import { InvalidArgumentError } from '../errors.js';
import type { AggregateOptions, AnnalsStore } from '../store-api.js';
import type { RecordedEvent } from '../types.js';
import { isNonNegativeInteger } from '../validation.js';

export function checkObject(name: string, v: unknown): void {
  if (typeof v !== 'object' || v === null) throw new InvalidArgumentError(`${name} must be an object`);
}

export function optionalCount(name: string, v: unknown): void {
  if (v !== undefined && !isNonNegativeInteger(v)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
}

/** A snapshot's state as JSON text or bytes (exactly one is not null). */
export function encodeSnapshot(state: unknown): [string | null, Buffer | null] {
  if (state instanceof Uint8Array) return [null, Buffer.from(state.buffer, state.byteOffset, state.byteLength)];
  let text: string | undefined;
  try {
    text = JSON.stringify(state);
  } catch (err) {
    throw new InvalidArgumentError(`snapshot state cannot be encoded as JSON: ${(err as Error).message}`);
  }
  if (text === undefined) throw new InvalidArgumentError('snapshot state cannot be encoded as JSON');
  return [text, null];
}

/**
 * Folds the stream at `version` (its latest), whose first version reads return is `first`
 * (Infinity: none), as the embedded store does (aggregates.ts): from the newest snapshot unless it
 * lies below a truncation, then the events after it, 1,000 at a time; a new snapshot when
 * `snapshotEvery` or more were folded and `canSave`. A stream that reads as empty folds to the
 * initial state at its version.
 */
export async function fold<S>(
  store: AnnalsStore,
  id: string,
  options: AggregateOptions<S>,
  latest: number,
  first: number,
  canSave: boolean,
): Promise<{ state: S; version: number }> {
  if (first > latest) return { state: options.initialState, version: latest };
  const snap = await store.loadSnapshot(id);
  const usable = snap && snap.version <= latest && (first === 1 || snap.version >= first) ? snap : undefined;
  let state = usable ? (usable.state as S) : options.initialState;
  let version = usable?.version ?? first - 1;
  const start = usable?.version ?? 0;
  while (version < latest) {
    const batch = await store.readStream(id, { fromVersion: version + 1, limit: 1000 });
    for (const e of batch) if (e.version <= latest) state = options.evolve(state, e);
    if (batch.length === 0) break;
    version = Math.min(latest, (batch[batch.length - 1] as RecordedEvent).version);
    if (batch.length < 1000) break;
  }
  const every = options.snapshotEvery;
  if (every && version - start >= every && canSave) await store.saveSnapshot(id, version, state);
  return { state, version };
}
