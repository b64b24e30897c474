/**
 * Snapshots and aggregation behind EventStore: a stream folded into a state from its newest
 * snapshot on, and snapshots saved when enough events were folded. Snapshots are a cache of the
 * log (snapshot-store.ts): a damaged one is dropped and the state folded from the log.
 */

import { checkObject, describeValue, rejectUnknownKeys } from './arg-checks.js';
import { InvalidArgumentError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { Snapshot, SnapshotStore } from './snapshot-store.js';
import type { StoreReader } from './store-reader.js';
import type { RecordedEvent } from './types.js';
import { checkStreamId, isNonNegativeInteger, optionalCount } from './validation.js';

const KEYS = new Set(['initialState', 'evolve', 'snapshotEvery']);

export interface AggregateOptions<S> {
  initialState: S;
  evolve: (state: S, event: RecordedEvent) => S;
  /** Save a snapshot when at least this many events were folded. */
  snapshotEvery?: number;
}

/** Events a fold reads at once. */
const FOLD_BATCH = 1000;

export class Aggregates {
  constructor(
    private readonly reader: StoreReader,
    private readonly snapshots: SnapshotStore,
    private readonly options: Pick<ResolvedOptions, 'limits' | 'readOnly'>,
  ) {}

  /** Saves `state` as the stream's state at `version` (kept when newer than the saved one). */
  save(streamId: unknown, version: unknown, state: unknown): void {
    const id = checkStreamId(streamId, this.options.limits);
    if (!isNonNegativeInteger(version) || version < 1)
      throw new InvalidArgumentError(`version must be a positive integer, got ${describeValue(version)}`);
    const current = this.reader.visibleVersion(id);
    if (version > current) throw new InvalidArgumentError(`stream '${id}' is at version ${current}; cannot snapshot version ${version}`);
    const encoded = this.snapshots.encode(id, version, state);
    const existing = this.snapshots.load(id);
    if (existing && existing.version > version) return;
    this.snapshots.save(id, encoded);
  }

  load(streamId: unknown): Snapshot | undefined {
    return this.snapshots.load(checkStreamId(streamId, this.options.limits));
  }

  /** Folds the stream's events into a state from its newest snapshot on; saves a new one when
   * `snapshotEvery` events or more were folded (not on a read-only store). */
  aggregate<S>(streamId: unknown, options: AggregateOptions<S>): { state: S; version: number } {
    const id = checkStreamId(streamId, this.options.limits);
    checkObject('options', options);
    rejectUnknownKeys('aggregate options', options, KEYS);
    if (typeof options.evolve !== 'function')
      throw new InvalidArgumentError(`evolve must be a function, got ${describeValue(options.evolve)}`);
    optionalCount('snapshotEvery', options.snapshotEvery);
    const visible = this.reader.visibleVersion(id);
    const snap = this.snapshots.load(id);
    const usable = snap && snap.version <= visible ? snap : undefined;
    let state = usable ? (usable.state as S) : options.initialState;
    let version = usable?.version ?? 0;
    const start = version;
    while (version < visible) {
      const batch = this.reader.streamRange(id, version + 1, Math.min(visible, version + FOLD_BATCH));
      if (batch.length === 0) break;
      for (const e of batch) state = options.evolve(state, e);
      version = (batch[batch.length - 1] as RecordedEvent).version;
    }
    const every = options.snapshotEvery;
    if (every && version - start >= every && !this.options.readOnly) this.save(id, version, state);
    return { state, version };
  }
}
