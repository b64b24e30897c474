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

/** Refuses the embedded store's read-model options the PostgreSQL store does not have yet,
 * rather than ignoring them (a filter ignored would hand out events the caller excluded). */
export function notYet(method: string, options: object, names: string[]): void {
  for (const n of names) {
    if ((options as Record<string, unknown>)[n] !== undefined)
      throw new InvalidArgumentError(`${method}: '${n}' is not available on the PostgreSQL store yet`);
  }
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

/** From the newest snapshot, the events after it, 1,000 at a time; a new snapshot when
 * `snapshotEvery` or more were folded and `canSave`. */
export async function fold<S>(
  store: AnnalsStore,
  id: string,
  options: AggregateOptions<S>,
  canSave: boolean,
): Promise<{ state: S; version: number }> {
  const snap = await store.loadSnapshot(id);
  let state = snap ? (snap.state as S) : options.initialState;
  let version = snap?.version ?? 0;
  const start = version;
  for (;;) {
    const batch = await store.readStream(id, { fromVersion: version + 1, limit: 1000 });
    for (const e of batch) state = options.evolve(state, e);
    if (batch.length > 0) version = (batch[batch.length - 1] as RecordedEvent).version;
    if (batch.length < 1000) break;
  }
  const every = options.snapshotEvery;
  if (every && version - start >= every && canSave) await store.saveSnapshot(id, version, state);
  return { state, version };
}
