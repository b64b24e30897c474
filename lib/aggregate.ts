/** Folding a stream's events into a state, from its newest usable snapshot on (EventStore.aggregate). */
import type { Snapshot } from './snapshot-store.js';
import type { StoreReader } from './store-reader.js';
import type { RecordedEvent } from './types.js';

export interface AggregateOptions<S> {
  initialState: S;
  evolve: (state: S, event: RecordedEvent) => S;
  /** Save a snapshot when at least this many events were folded. */
  snapshotEvery?: number;
}

/** Events are read this many at a time: a long stream is never held whole. */
const FOLD_BATCH = 1000;

/**
 * The state after the stream's visible events, and how many were folded past the snapshot. A
 * snapshot of a version the stream has not reached (saved by a store the log was restored beside,
 * say) is not used.
 */
export function foldStream<S>(
  reader: StoreReader,
  snap: Snapshot | undefined,
  id: string,
  options: AggregateOptions<S>,
): { state: S; version: number; folded: number } {
  const visible = reader.visibleVersion(id);
  const usable = snap && snap.version <= visible ? snap : undefined;
  let state = usable ? (usable.state as S) : options.initialState;
  let version = usable?.version ?? 0;
  const start = version;
  while (version < visible) {
    const batch = reader.streamRange(id, version + 1, Math.min(visible, version + FOLD_BATCH));
    if (batch.length === 0) break;
    for (const e of batch) state = options.evolve(state, e);
    version = (batch[batch.length - 1] as RecordedEvent).version;
  }
  return { state, version, folded: version - start };
}
