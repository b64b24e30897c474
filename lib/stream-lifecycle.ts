/**
 * Deletes and retention rules of streams, behind EventStore: each is a metadata event appended to
 * the stream's meta stream (stream-metadata.ts) in one atomic call that also checks the stream's
 * expected version, so a delete races appends as appends race each other. Deleting a stream also
 * removes its snapshots: they hold state folded from events no read returns any more.
 */
import type { VersionGuard } from './append-planner.js';
import { checkObject, describeValue, rejectUnknownKeys } from './arg-checks.js';
import { refuseSystemStreams } from './consumers.js';
import { type AppendResult, InvalidArgumentError, LimitExceededError, StreamDeletedError, WrongExpectedVersionError } from './errors.js';
import type { ResolvedLimits } from './options.js';
import { METADATA_TYPE, metaStreamOf, type StoredMetadata, type StreamMetadata, type StreamMetadataRegistry } from './stream-metadata.js';
import type { ExpectedVersion } from './types.js';
import { checkExpectedVersion, checkStreamId, isNonNegativeInteger } from './validation.js';

const DELETE_KEYS = new Set(['expectedVersion', 'hard']);
/** Streams whose version floors one call writes (raiseFloors): bounds the call's size. */
const FLOOR_BATCH = 1000;
/** Rounds of raiseFloors: each round after the first follows a concurrent metadata change of the
 * stream, whose own floor (withFloor) makes the next round find nothing left to raise. */
const FLOOR_ATTEMPTS = 5;

/** `meta` with the stream's latest version as its floor (none for a stream without events). */
function withFloor(meta: StoredMetadata, latest: number): StoredMetadata {
  return latest > 0 ? { ...meta, versionFloor: latest } : meta;
}
const METADATA_KEYS = new Set(['maxCount', 'maxAgeMs', 'truncateBefore']);

export interface LifecycleDeps {
  limits: ResolvedLimits;
  registry: StreamMetadataRegistry;
  latestVersion(streamId: string): number;
  /** Appends atomically, after the guards' expected versions are checked; results per item. */
  commit(
    items: { streamId: string; events: { type: string; data: unknown }[] }[],
    guards: VersionGuard[],
  ): Promise<(AppendResult | Error)[]>;
  /** Appends each item on its own (expected version per item); results per item. */
  commitEach(
    items: { streamId: string; events: { type: string; data: unknown }[]; expectedVersion: number }[],
  ): Promise<(AppendResult | Error)[]>;
  /** Waits until what was appended is durable and visible. */
  flush(): Promise<void>;
  removeSnapshots(streamId: string): void;
}

export class StreamLifecycle {
  constructor(private readonly d: LifecycleDeps) {}

  /** Soft: a truncation past the last version; hard: a tombstone. Returns the record's position. */
  async delete(streamId: unknown, options: unknown): Promise<{ position: number }> {
    const id = this.checkId(streamId);
    const { expectedVersion, hard } = checkDeleteOptions(options);
    const current = this.d.registry.get(id) ?? {};
    if (current.hardDeleted) throw new StreamDeletedError(id);
    const last = this.d.latestVersion(id);
    const meta: StoredMetadata = hard ? { hardDeleted: true } : withFloor({ ...current, truncateBefore: last + 1 }, last);
    const position = await this.write(id, meta, expectedVersion);
    this.d.removeSnapshots(id);
    return { position };
  }

  async setMetadata(streamId: unknown, metadata: unknown): Promise<{ position: number }> {
    const id = this.checkId(streamId);
    const meta = checkMetadata(metadata);
    if (this.d.registry.get(id)?.hardDeleted) throw new StreamDeletedError(id);
    return { position: await this.write(id, withFloor(meta, this.d.latestVersion(id)), 'any') };
  }

  getMetadata(streamId: unknown): StoredMetadata {
    const id = checkStreamId(streamId, this.d.limits);
    const { versionFloor: _floor, ...meta } = this.d.registry.get(id) ?? {};
    return meta;
  }

  /** Before a scavenge erases the last event of streams: raises their version floors to it
   * (StreamMetadataRegistry.floorChange), durably, FLOOR_BATCH streams per call. A change that
   * meets a concurrent metadata write is judged again: that write carries a floor of its own. */
  async raiseFloors(floors: ReadonlyMap<string, number>): Promise<void> {
    let pending = [...floors];
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > FLOOR_ATTEMPTS) {
        throw new LimitExceededError(
          `version floors of ${pending.length} streams met concurrent metadata changes in ${FLOOR_ATTEMPTS} rounds; the chunk holding their last events is left as it is: run the scavenge again`,
        );
      }
      const again: [string, number][] = [];
      for (let i = 0; i < pending.length; i += FLOOR_BATCH) {
        const batch = pending.slice(i, i + FLOOR_BATCH).flatMap(([streamId, version]) => {
          const change = this.d.registry.floorChange(streamId, version);
          return change ? [{ streamId, version, ...change }] : [];
        });
        const results = await this.d.commitEach(
          batch.map((c) => ({
            streamId: metaStreamOf(c.streamId),
            events: [{ type: METADATA_TYPE, data: this.d.registry.eventData(c.streamId, c.meta) }],
            expectedVersion: c.metaVersion,
          })),
        );
        results.forEach((r, k) => {
          const c = batch[k] as (typeof batch)[number];
          if (r instanceof WrongExpectedVersionError) again.push([c.streamId, c.version]);
          else if (r instanceof Error) throw r;
          else this.d.registry.record(c.streamId, c.meta);
        });
      }
      if (again.length > 0) await this.d.flush();
      pending = again;
    }
  }

  /** An application stream's id: the store's own (`$$`) have no metadata of their own. */
  private checkId(streamId: unknown): string {
    const id = checkStreamId(streamId, this.d.limits);
    refuseSystemStreams([{ streamId: id }]);
    return id;
  }

  /** Appends the metadata event, checking the stream's expected version in the same call. */
  private async write(id: string, meta: StoredMetadata, expectedVersion: ExpectedVersion): Promise<number> {
    const data = this.d.registry.eventData(id, meta);
    const [r] = await this.d.commit(
      [{ streamId: metaStreamOf(id), events: [{ type: METADATA_TYPE, data }] }],
      [{ streamId: id, expectedVersion }],
    );
    if (r instanceof Error) throw r;
    this.d.registry.record(id, meta);
    return (r as AppendResult).position;
  }
}

/** deleteStream's options, checked (INVALID_ARGUMENT). */
export function checkDeleteOptions(options: unknown): { expectedVersion: ExpectedVersion; hard: boolean } {
  checkObject('options', options);
  rejectUnknownKeys('deleteStream options', options, DELETE_KEYS);
  const o = options as { expectedVersion?: unknown; hard?: unknown };
  if (o.hard !== undefined && typeof o.hard !== 'boolean')
    throw new InvalidArgumentError(`hard must be a boolean, got ${describeValue(o.hard)}`);
  return { expectedVersion: checkExpectedVersion(o.expectedVersion), hard: o.hard === true };
}

/** setStreamMetadata's rules, checked (INVALID_ARGUMENT). */
export function checkMetadata(metadata: unknown): StreamMetadata {
  checkObject('metadata', metadata);
  rejectUnknownKeys('stream metadata', metadata, METADATA_KEYS);
  const m = metadata as Record<string, unknown>;
  const out: StreamMetadata = {};
  for (const k of ['maxCount', 'maxAgeMs', 'truncateBefore'] as const) {
    const v = m[k];
    if (v === undefined) continue;
    // Versions start at 1: truncateBefore 1 hides nothing; 0 would name no version at all.
    if (!isNonNegativeInteger(v) || v < 1) throw new InvalidArgumentError(`${k} must be a positive integer, got ${describeValue(v)}`);
    out[k] = v;
  }
  return out;
}
