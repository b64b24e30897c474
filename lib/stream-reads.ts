/**
 * Reads of one stream and of one command, behind EventStore, through the stream's metadata: a
 * truncation, a maxCount, a maxAge or a delete hides events from every read from the moment the
 * change is acknowledged (stream-metadata.ts). Also what an append needs to know of that: whether a
 * stream is hard-deleted, or reads as empty.
 */
import { checkObject, describeValue, rejectUnknownKeys } from './arg-checks.js';
import { InvalidArgumentError } from './errors.js';
import type { ResolvedLimits } from './options.js';
import type { StoreReader } from './store-reader.js';
import { firstVisibleVersion, type StreamMetadataRegistry } from './stream-metadata.js';
import type { ReadStreamOptions, RecordedEvent } from './types.js';
import { checkCommandId, checkStreamId, isNonNegativeInteger, optionalCount } from './validation.js';

export const READ_STREAM_KEYS = new Set(['fromVersion', 'direction', 'limit']);

export class StreamReads {
  constructor(
    private readonly reader: StoreReader,
    private readonly metadata: StreamMetadataRegistry,
    private readonly limits: ResolvedLimits,
  ) {}

  readStream(streamId: unknown, options: ReadStreamOptions): RecordedEvent[] {
    const id = checkStreamId(streamId, this.limits);
    checkObject('options', options);
    rejectUnknownKeys('readStream options', options, READ_STREAM_KEYS);
    const { fromVersion, direction = 'forward', limit } = options;
    optionalCount('fromVersion', fromVersion);
    optionalCount('limit', limit);
    if (direction !== 'forward' && direction !== 'backward') {
      throw new InvalidArgumentError(`direction must be 'forward' or 'backward', got ${describeValue(direction)}`);
    }
    const max = limit ?? Number.MAX_SAFE_INTEGER;
    if (max === 0) return [];
    const first = this.visibleFrom(id);
    if (first === Number.POSITIVE_INFINITY) return [];
    if (direction === 'forward') {
      // No need for the latest version: versions past it have no entries, and the reader drops
      // what is not visible yet.
      const from = Math.max(first, fromVersion ?? 1);
      return this.visibleOnly(this.reader.streamRange(id, from, Math.min(0xffffffff, from + max - 1)));
    }
    const visible = this.reader.visibleVersion(id);
    const from = Math.min(visible, fromVersion ?? visible);
    return this.visibleOnly(this.reader.streamRange(id, Math.max(first, from - max + 1), from).reverse());
  }

  readEvent(streamId: unknown, version: unknown): RecordedEvent | undefined {
    const id = checkStreamId(streamId, this.limits);
    if (!isNonNegativeInteger(version))
      throw new InvalidArgumentError(`version must be a non-negative integer, got ${describeValue(version)}`);
    if (version === 0 || version < this.visibleFrom(id)) return undefined;
    return this.visibleOnly(this.reader.streamRange(id, version, version))[0];
  }

  /** A command whose events stream metadata hides answers as unknown; a retry is still refused as
   * a duplicate (the planner finds the command's records), so it never writes twice. */
  readCommand(commandId: unknown): RecordedEvent[] | undefined {
    const id = checkCommandId(commandId);
    if (id === undefined) throw new InvalidArgumentError('commandId must be a non-empty string, got undefined');
    const events = this.reader.readCommand(id);
    const visible = events && this.visibleOnly(events);
    return visible && visible.length > 0 ? visible : undefined;
  }

  /** The first version of the stream reads may return (its metadata; Infinity: none at all). */
  visibleFrom(id: string): number {
    const meta = this.metadata.get(id);
    if (!meta) return 1;
    const last = this.reader.visibleVersion(id);
    const first = firstVisibleVersion(meta, last);
    if (meta.maxAgeMs === undefined || first > last) return first;
    return this.reader.firstVersionFrom(id, first, last, Date.now() - meta.maxAgeMs);
  }

  visibleOnly(events: RecordedEvent[]): RecordedEvent[] {
    return this.metadata.empty ? events : events.filter((e) => this.reader.visibleByMetadata(e));
  }

  /** How a stream at `version` is gone to an append: hard-deleted, or reading as empty. */
  goneOf(streamId: string, version: number): 'hard' | 'empty' | undefined {
    const meta = this.metadata.get(streamId);
    if (!meta) return undefined;
    if (meta.hardDeleted) return 'hard';
    return firstVisibleVersion(meta, version) > version && version > 0 ? 'empty' : undefined;
  }
}
