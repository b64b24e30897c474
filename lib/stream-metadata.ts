/**
 * Stream metadata: retention rules (`maxCount`, `maxAgeMs`, `truncateBefore`) and deletes, after
 * EventStoreDB's `$maxCount`, `$maxAge`, `$tb` and tombstones. A soft delete is a truncation past
 * the stream's last version (it reads as empty; an append recreates it, its versions going on); a
 * hard delete is a tombstone (every later append fails with STREAM_DELETED).
 *
 * Each change is an event of the system stream `$$meta-<key>`, `key` the 48-bit hash of the stream
 * id (12 hex digits): a durable record in the log that shares the group commit, and that names the
 * stream by hashes only, so erasing a stream (scavenge) leaves no byte of its id behind. Two ids
 * sharing a key share a meta stream; each event carries a 128-bit digest of its id, and the
 * newest event with the stream's digest is its metadata.
 *
 * At open the keys of the streams with metadata are read from the meta streams' names (a listing,
 * no event read), so reading an event of a stream without metadata costs one hash and one set
 * lookup, and nothing at all in a store without metadata. A stream's metadata is read from its meta
 * stream on first use and kept (bounded cache).
 *
 * Bound: the key set takes at most the metadata cache's bytes (MetadataDeps.maxCached entries at
 * BYTES_PER_ENTRY.metadataCache, KEY_BYTES a key). A store with more streams with metadata drops
 * the set for good (until reopened): a stream not in the cache is then looked up by its meta
 * stream in the index (an absent one is found absent there, and cached as such), and a scavenge
 * lists the meta streams for its rule keys.
 */
import { createHash } from 'node:crypto';
import { type Key, keyOf } from './format/key-hash.js';
import { BYTES_PER_ENTRY, extraIdBytes } from './memory-budget.js';
import type { StoreReader } from './store-reader.js';
import type { ListStreamsOptions, RecordedEvent, StreamInfo } from './types.js';

export const META_STREAM_PREFIX = '$$meta-';
export const METADATA_TYPE = '$metadata';

export interface StreamMetadata {
  /** Only the newest `maxCount` events are visible. */
  maxCount?: number;
  /** Only events younger than this are visible. */
  maxAgeMs?: number;
  /** Only versions from this one on are visible (a soft delete sets it past the last version). */
  truncateBefore?: number;
}

export interface StoredMetadata extends StreamMetadata {
  /** A tombstone: the stream is gone for good. */
  hardDeleted?: true;
  /** The stream's latest version when this was written (internal; getStreamMetadata leaves it
   * out). A scavenge may erase every event of a stream; this keeps its versions going on after an
   * index rebuilt from the log (which sees none of them): the next version is above it. */
  versionFloor?: number;
}

interface MetadataEventData extends StoredMetadata {
  /** The digest of the stream id this event is about (idDigest). */
  id: string;
}

const keyNumber = (k: Key) => k.hi * 2 ** 32 + k.lo;

export function metaStreamOf(streamId: string): string {
  return `${META_STREAM_PREFIX}${keyNumber(keyOf(streamId)).toString(16).padStart(12, '0')}`;
}

/** The key a meta stream's name carries (metaStreamOf's inverse). */
function metaStreamKey(metaStreamId: string): number {
  return Number.parseInt(metaStreamId.slice(META_STREAM_PREFIX.length), 16);
}

/** 128 bits of SHA-256 of the id: tells apart ids whose 48-bit keys collide. */
export function idDigest(streamId: string): string {
  return createHash('sha256').update(streamId, 'utf8').digest('hex').slice(0, 32);
}

/** The first version of a stream that reads can see (Infinity: none, a hard delete). */
export function firstVisibleVersion(meta: StoredMetadata | undefined, lastVersion: number): number {
  if (!meta) return 1;
  if (meta.hardDeleted) return Number.POSITIVE_INFINITY;
  let from = 1;
  if (meta.truncateBefore !== undefined) from = Math.max(from, meta.truncateBefore);
  if (meta.maxCount !== undefined) from = Math.max(from, lastVersion - meta.maxCount + 1);
  return from;
}

/** A stream's rules as a scavenge judges its events (StreamMetadataRegistry.retention). */
export interface Retention {
  from: number;
  minTimestamp: number;
  /** The stream's latest version, and the floor its metadata keeps (Infinity: hard-deleted,
   * no append ever comes). */
  last: number;
  floor: number;
  /** Where the index has the stream's latest event (0: none). */
  lastPosition: number;
}

export interface MetadataDeps {
  reader: StoreReader;
  listStreams(o: ListStreamsOptions): Promise<{ streams: StreamInfo[]; next?: string }>;
  /** The stream's latest version by the index and its event's position (written or not; 0, 0
   * when the log holds none). */
  latest(streamId: string): { version: number; position: number };
  /** Streams whose metadata is kept in memory at once (from the memory budget); more are read
   * again when used. */
  maxCached: number;
}

/** What a key of the set takes: a heap number in a Set (a heap measure, rounded up). */
const KEY_BYTES = 40;
/** Keys the set holds however small the budget. */
const MIN_KEYS = 1024;

export class StreamMetadataRegistry {
  /** Keys (as numbers) of the streams that have metadata, while there are at most maxKeys. */
  private readonly keys = new Set<number>();
  private readonly maxKeys: number;
  /** More streams have metadata than maxKeys: `keys` is dropped, the index answers. */
  private tooMany = false;
  private readonly cache = new Map<string, StoredMetadata | null>();
  /** extraIdBytes of the cache's ids. */
  private cacheIdBytes = 0;
  private changeCount = 0;

  constructor(private readonly d: MetadataDeps) {
    this.maxKeys = Math.max(MIN_KEYS, Math.floor((d.maxCached * BYTES_PER_ENTRY.metadataCache) / KEY_BYTES));
  }

  /** Reads the meta streams' names: which keys have metadata (up to maxKeys of them). */
  async load(): Promise<void> {
    for await (const key of this.metaStreamKeys()) {
      this.addKey(key);
      if (this.tooMany) return;
    }
  }

  /** The keys of the streams with metadata, from the meta streams' names, a page at a time. */
  private async *metaStreamKeys(): AsyncGenerator<number> {
    let after: string | undefined;
    do {
      const page = await this.d.listStreams({ prefix: META_STREAM_PREFIX, after, limit: 1000 });
      for (const s of page.streams) yield metaStreamKey(s.streamId);
      after = page.next;
    } while (after !== undefined);
  }

  private addKey(key: number): void {
    if (this.tooMany) return;
    if (this.keys.size >= this.maxKeys && !this.keys.has(key)) {
      this.keys.clear();
      this.tooMany = true;
      return;
    }
    this.keys.add(key);
  }

  /** Keys the set holds now (tests: it stays within maxKeys). */
  get keyCount(): number {
    return this.keys.size;
  }

  /** Whether any stream of the store has metadata (when none, reads check nothing). */
  get empty(): boolean {
    return !this.tooMany && this.keys.size === 0;
  }

  /** The keys (hi · 2^32 + lo) of the streams with metadata now: what a scavenge judges a frame's
   * stream id by before it looks its rules up (scavenge-pass.ts). Listed from the meta streams
   * when there are more than the set holds. */
  async keyNumbers(): Promise<number[]> {
    if (!this.tooMany) return [...this.keys];
    const keys: number[] = [];
    for await (const key of this.metaStreamKeys()) keys.push(key);
    return keys;
  }

  get(streamId: string): StoredMetadata | undefined {
    if (this.empty || (!this.tooMany && !this.keys.has(keyNumber(keyOf(streamId))))) return undefined;
    const cached = this.cache.get(streamId);
    if (cached !== undefined) return cached ?? undefined;
    const meta = this.read(streamId);
    this.cacheSet(streamId, meta ?? null);
    return meta;
  }

  /** The stream's latest version: the index's, or the floor its metadata keeps when a scavenge
   * erased its events (StoredMetadata.versionFloor). */
  latestVersion(streamId: string): number {
    const indexed = this.d.latest(streamId).version;
    const floor = this.versionFloor(streamId);
    return floor > indexed ? floor : indexed;
  }

  /** The version floor the stream's metadata keeps (0: none). */
  versionFloor(streamId: string): number {
    return this.get(streamId)?.versionFloor ?? 0;
  }

  /** Entries cached now (stats().memory). */
  get cachedCount(): number {
    return this.cache.size;
  }

  /** Bytes the cached ids take beyond the budget's per-entry estimate (stats().memory). */
  get cachedExtraBytes(): number {
    return this.cacheIdBytes;
  }

  /** Caches the stream's metadata, emptying the cache first when the entry would not fit: the
   * cache holds maxCached entries, a long id counting for more (memory-budget.ts, extraIdBytes). */
  private cacheSet(streamId: string, meta: StoredMetadata | null): void {
    if (!this.cache.has(streamId)) {
      const extra = extraIdBytes(streamId);
      if (this.cache.size + 1 + (this.cacheIdBytes + extra) / BYTES_PER_ENTRY.metadataCache > this.d.maxCached) {
        this.cache.clear();
        this.cacheIdBytes = 0;
      }
      this.cacheIdBytes += extra;
    }
    this.cache.set(streamId, meta);
  }

  /** Records metadata just written (the append is durable). */
  record(streamId: string, meta: StoredMetadata): void {
    this.changeCount++;
    this.addKey(keyNumber(keyOf(streamId)));
    this.cacheSet(streamId, meta);
  }

  /** A metadata event another process wrote (a follower read it from the log): the stream's
   * metadata is read again when next used. */
  noteWritten(metaStreamId: string): void {
    this.addKey(metaStreamKey(metaStreamId));
    this.cache.clear();
    this.cacheIdBytes = 0;
  }

  /** The event data of a change of `streamId`'s metadata to `meta`. */
  eventData(streamId: string, meta: StoredMetadata): MetadataEventData {
    return { id: idDigest(streamId), ...meta };
  }

  /** Whether a read may return the event (the store's own streams are judged by their reader). */
  visible(e: RecordedEvent, now: number): boolean {
    return this.visibleFields(e.streamId, e.version, e.timestamp, now);
  }

  /** `visible` over the fields it judges by (a scavenge reads only these from each frame). */
  visibleFields(streamId: string, version: number, timestamp: number, now: number): boolean {
    const meta = this.get(streamId);
    if (!meta) return true;
    if (version < firstVisibleVersion(meta, this.latestVersion(streamId))) return false;
    return meta.maxAgeMs === undefined || timestamp >= now - meta.maxAgeMs;
  }

  /** What `visibleFields` judges a stream's events by, at `now`: visible from version `from` on and
   * from timestamp `minTimestamp` on; undefined when the stream has no rules (all visible). */
  retention(streamId: string, now: number): Retention | undefined {
    const meta = this.get(streamId);
    if (!meta) return undefined;
    const latest = this.d.latest(streamId);
    const floor = meta.versionFloor ?? 0;
    const last = Math.max(latest.version, floor);
    return {
      from: firstVisibleVersion(meta, last),
      minTimestamp: meta.maxAgeMs === undefined ? Number.NEGATIVE_INFINITY : now - meta.maxAgeMs,
      last,
      lastPosition: latest.position,
      floor: meta.hardDeleted ? Number.POSITIVE_INFINITY : floor,
    };
  }

  /** The metadata change that raises the stream's version floor to `version` (a scavenge is about
   * to erase that version, the stream's last), read from the log itself, with the version of its
   * meta stream the change must be appended at: a metadata change being written concurrently makes
   * that append fail rather than be overwritten by the older rules. Undefined: nothing to raise. */
  floorChange(streamId: string, version: number): { meta: StoredMetadata; metaVersion: number } | undefined {
    const metaStream = metaStreamOf(streamId);
    const metaVersion = this.d.reader.visibleVersion(metaStream);
    const meta = this.read(streamId);
    if (!meta || meta.hardDeleted || (meta.versionFloor ?? 0) >= version) return undefined;
    return { meta: { ...meta, versionFloor: version }, metaVersion };
  }

  /** Changes recorded since open: what a cached estimate over the rules depends on. */
  get changes(): number {
    return this.changeCount;
  }

  /** The newest metadata event of the stream's meta stream that is about this stream. */
  private read(streamId: string): StoredMetadata | undefined {
    const meta = metaStreamOf(streamId);
    const digest = idDigest(streamId);
    const { reader } = this.d;
    for (let to = reader.visibleVersion(meta); to > 0; to -= 64) {
      const batch = reader.streamRange(meta, Math.max(1, to - 63), to);
      for (let i = batch.length - 1; i >= 0; i--) {
        const data = (batch[i] as RecordedEvent).data as MetadataEventData;
        if (data?.id === digest) {
          const { id: _id, ...stored } = data;
          return stored;
        }
      }
    }
    return undefined;
  }
}
