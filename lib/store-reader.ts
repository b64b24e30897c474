/**
 * The read side of the store over the index and the log: what readers may see (`visibleEnd`: in
 * 'sync' mode only what a completed flush covers), and every record checked against the id it was
 * looked up by, since index keys are hashes that may collide.
 */

import type { LogEngine } from './engine/log-engine.js';
import { ScavengeAwareLog } from './engine/scavenged-log.js';
import { type AppendResult, CorruptionError, InvalidArgumentError } from './errors.js';
import { compileFilter, type FrameMatcher } from './event-filter.js';
import { decodeMatching } from './filtered-log.js';
import { SEGMENT_KIND_CATEGORY, type ViewKind } from './format/index-layout.js';
import { keyOf } from './format/key-hash.js';
import { CHUNK_HEADER_SIZE } from './format/layout.js';
import { decodeEvent } from './format/record-decode.js';
import { SEEN_AGAIN } from './index/recent-keys.js';
import type { IndexFields } from './index/segment-search.js';
import type { StoreIndex } from './index/store-index.js';
import { type DamageHandler, decodeFrames, readAt, scanBlocks } from './log-reader.js';
import type { RecordedEvent } from './types.js';

/** Events a subscription step reads at most; over the whole log also about this many bytes of
 * records (one block at least), so a subscriber of large events holds a bounded batch. */
const SUBSCRIPTION_BATCH = 500;
const SUBSCRIPTION_BATCH_BYTES = 4 << 20;
/** Candidates a category or type read asks the index for at once. */
const VIEW_PAGE = 256;
/** Events iterateLog decodes at once. */
const ITERATE_BATCH = 64;

export class StoreReader {
  /** Whether stream metadata lets a read return the event (stream-metadata.ts); set by the store. */
  visibleByMetadata: (e: RecordedEvent) => boolean = () => true;

  constructor(
    private readonly engine: LogEngine,
    private readonly index: StoreIndex,
    private readonly visibleEnd: () => number,
  ) {}

  /** Latest version among the events readers may see. */
  visibleVersion(streamId: string): number {
    const visibleEnd = this.visibleEnd();
    const latest = this.index.latest(streamId);
    if (latest.position < visibleEnd) return latest.version;
    // Appends in flight: their entries are in the memtable; step back over them.
    let version = latest.version;
    while (version > 0) {
      const window = this.index.streamPositions(streamId, Math.max(1, version - 1023), version);
      if (window.length === 0) break;
      let k = window.length;
      while (k > 0 && (window[k - 1] as number) >= visibleEnd) k--;
      if (k > 0) return version - (window.length - k);
      version -= window.length;
    }
    return 0;
  }

  /** Visible events of versions [from, to] in version order. */
  streamRange(streamId: string, from: number, to: number): RecordedEvent[] {
    const visibleEnd = this.visibleEnd();
    if (from === to) {
      let found: RecordedEvent | undefined;
      this.index.findVersion(streamId, from, (p) => {
        if (p >= visibleEnd) return false;
        const [e] = readAt(this.engine, [p]);
        if (e?.streamId !== streamId) return false;
        found = e;
        return true;
      });
      if (found === undefined && from < this.index.latest(streamId).version) throw missingVersion(streamId, from);
      return found === undefined ? [] : [found];
    }
    const positions = this.index.streamPositions(streamId, from, to).filter((p) => p < visibleEnd);
    const events = readAt(this.engine, positions).filter((e) => e.streamId === streamId);
    // Versions are contiguous; a hole is a record the index skipped as damaged (DamagedRecords).
    for (let i = 0; i < events.length; i++) if ((events[i] as RecordedEvent).version !== from + i) throw missingVersion(streamId, from + i);
    return events;
  }

  /** First version of a stream whose position is after `after` (for subscriptions). */
  firstVersionAfter(streamId: string, after: number): number {
    const latest = this.visibleVersion(streamId);
    let lo = 1;
    let hi = latest + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const [e] = this.streamRange(streamId, mid, mid);
      if (e && e.position > after) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  readCommand(commandId: string): RecordedEvent[] | undefined {
    const visibleEnd = this.visibleEnd();
    const key = keyOf(commandId);
    const hint = this.index.recentCommand(key);
    if (hint > SEEN_AGAIN && hint < visibleEnd) {
      // A recent command of one event: read it where the recent set says, if the record agrees.
      const only = readAt(this.engine, [hint])[0];
      if (only?.commandId === commandId) return [only];
    }
    const positions = this.index.commandPositions(commandId, true, key, hint, false);
    if (positions === undefined) return undefined;
    let events = this.eventsOf(commandId, positions, visibleEnd);
    // Candidates that were all another id's (keys collide): the command may sit in an older source.
    // commandOriginal repeats this retry over index fields; one helper taking the picker as a
    // function made command lookups slower (a call through a function value in the hot loop), so
    // each keeps its own.
    if (events.length === 0)
      events = this.eventsOf(commandId, this.index.commandPositions(commandId, true, key, hint, true) ?? [], visibleEnd);
    return events.length === 0 ? undefined : events;
  }

  /** The visible events of `commandId` among candidate positions. */
  private eventsOf(commandId: string, positions: number[], visibleEnd: number): RecordedEvent[] {
    const visible = positions.filter((p) => p < visibleEnd);
    return readAt(this.engine, visible).filter((e) => e.commandId === commandId);
  }

  /** Candidate positions whose records are `commandId`'s, with their index fields. */
  private fieldsOf(commandId: string, positions: number[]): { p: number; f: IndexFields }[] {
    const fields = this.index.fieldsAt(positions);
    const out: { p: number; f: IndexFields }[] = [];
    for (let i = 0; i < positions.length; i++) {
      const f = fields[i];
      if (f?.commandId === commandId) out.push({ p: positions[i] as number, f });
    }
    return out;
  }

  /** The first result of a stored command, for DuplicateCommandError. */
  commandOriginal(commandId: string, searchDisk: boolean): AppendResult | undefined {
    const key = keyOf(commandId);
    const hint = this.index.recentCommand(key);
    if (hint > SEEN_AGAIN) {
      const f = this.index.fieldsAt([hint])[0];
      if (f?.commandId === commandId)
        return { streamId: f.streamId, firstVersion: f.version, lastVersion: f.version, position: hint, commandId };
    }
    const positions = this.index.commandPositions(commandId, searchDisk || 'recent', key, hint, false);
    if (positions === undefined) return undefined;
    let mine = this.fieldsOf(commandId, positions);
    // Candidates that were all another id's (keys collide): the command may sit in an older source.
    if (mine.length === 0)
      mine = this.fieldsOf(commandId, this.index.commandPositions(commandId, searchDisk || 'recent', key, hint, true) ?? []);
    const first = mine[0];
    if (!first) return this.erasedCommand(commandId, positions);
    // The first append of the command: its consecutive events in the first stream it wrote.
    let last = first;
    for (const x of mine.slice(1)) {
      if (x.f.streamId !== first.f.streamId || x.f.version !== last.f.version + 1) break;
      last = x;
    }
    return {
      streamId: first.f.streamId,
      firstVersion: first.f.version,
      lastVersion: last.f.version,
      position: last.p,
      commandId,
    };
  }

  /**
   * A command whose events a scavenge removed: its index entries outlive them, so a retry is refused
   * as a duplicate (answered `erased`) instead of writing the command again. The entries hold the
   * command id's 48-bit key only, so a new id colliding with an erased one's key is refused too
   * (about n²/2^49 pairs of n ids).
   */
  private erasedCommand(commandId: string, positions: number[]): AppendResult | undefined {
    if (!(this.engine instanceof ScavengeAwareLog) || !this.engine.anyScavenged) return undefined;
    const removed = positions.find((p) => (this.engine as ScavengeAwareLog).removedAt(p));
    if (removed === undefined) return undefined;
    return { streamId: '', firstVersion: 0, lastVersion: 0, position: removed, commandId, erased: true };
  }

  /** Where the global log continues strictly after `after` (an event's position, or 0). */
  startAfter(after: number | undefined): number {
    // 0 reads from the start; any other position below the first event's is no event's.
    if (after === undefined || after === 0) return CHUNK_HEADER_SIZE;
    const refuse = (why: string) => new InvalidArgumentError(`after must be 0 or an event's position, got the number ${after}: ${why}`);
    if (after < CHUNK_HEADER_SIZE || after >= this.visibleEnd()) throw refuse('no event there');
    // An event a scavenge removed: the log goes on at the next surviving event after it.
    if (this.engine instanceof ScavengeAwareLog && this.engine.removedAt(after)) return after + 1;
    try {
      return after + this.engine.readFrames([after]).readUInt32LE(0);
    } catch (err) {
      throw refuse(`no event there (${(err as Error).message})`);
    }
  }

  /** Visible events from `from` (a frame position or a chunk start), up to `max` events and about
   * `maxBytes` of records (at least one block), and where to go on. */
  logFrom(from: number, max: number, maxBytes = Number.POSITIVE_INFINITY, match?: FrameMatcher): { events: RecordedEvent[]; next: number } {
    const events: RecordedEvent[] = [];
    let next = from;
    const identity = this.engine.identity();
    let read = 0;
    for (const { bytes, positions, next: blockNext } of scanBlocks(this.engine, from, this.visibleEnd)) {
      // Where to go on: the first frame not examined, or past the block.
      let examined: number;
      if (match) {
        const at = { off: 0, i: 0 };
        decodeMatching(bytes, positions, at, identity, match, max, events);
        examined = at.i;
      } else {
        const before = events.length;
        decodeFrames(bytes, 0, positions, 0, max - events.length, identity, events);
        examined = events.length - before;
      }
      next = examined < positions.length ? (positions[examined] as number) : blockNext;
      read += bytes.length;
      if (events.length >= max || read >= maxBytes) return { events: this.withoutHidden(events), next };
    }
    return { events: this.withoutHidden(events), next };
  }

  /** Iterates the visible log from `from`, one block at a time; with `onDamaged`, damaged records
   * are reported and skipped instead of ending the iteration with a CorruptionError. */
  *iterateLog(
    from: number,
    max: number,
    open: () => boolean,
    onDamaged?: DamageHandler,
    match?: FrameMatcher,
    /** What is left out: by default the store's own events and those stream metadata hides. */
    hidden: (e: RecordedEvent) => boolean = (e) => this.hidden(e),
  ): Generator<RecordedEvent> {
    let n = 0;
    if (n >= max) return;
    const identity = this.engine.identity();
    for (const { bytes, positions } of scanBlocks(this.engine, from, () => (open() ? this.visibleEnd() : 0), onDamaged)) {
      if (match) {
        // Filtered: frames that do not match are stepped over undecoded (filtered-log.ts).
        for (const at = { off: 0, i: 0 }; at.off < bytes.length; ) {
          const batch: RecordedEvent[] = [];
          decodeMatching(bytes, positions, at, identity, match, Math.min(ITERATE_BATCH, max - n), batch, onDamaged);
          for (const e of batch) {
            if (hidden(e)) continue;
            yield e;
            if (++n >= max) return;
          }
        }
        continue;
      }
      for (let off = 0, i = 0; off < bytes.length; ) {
        // Decoded a few at a time (their JSON parsed together), so a consumer that stops early
        // has not paid for the whole block.
        const batch: RecordedEvent[] = [];
        try {
          off = decodeFrames(bytes, off, positions, i, Math.min(ITERATE_BATCH, max - n), identity, batch);
        } catch {
          // One at a time from here: the good events before the damaged one are yielded, as an
          // event-at-a-time decode would, and the damaged one throws (or is reported and skipped).
          for (; off < bytes.length && n < max; off += bytes.readUInt32LE(off)) {
            const e = decodeOne(bytes, off, positions[i++] as number, identity, onDamaged);
            if (!e || hidden(e)) continue;
            yield e;
            n++;
          }
          if (n >= max) return;
          continue;
        }
        i += batch.length;
        for (const e of batch) {
          if (hidden(e)) continue;
          yield e;
          if (++n >= max) return;
        }
      }
    }
  }

  /**
   * A category's or type's visible events beyond `after` (forward: above it, from the start when
   * undefined; backward: below it, from the end), at most `max`. Candidates come from the index a
   * page at a time (view-search.ts); records of another name under a colliding key are dropped.
   */
  *iterateView(kind: ViewKind, name: string, after: number | undefined, backward: boolean, max: number): Generator<RecordedEvent> {
    let cursor = backward ? Math.min(after ?? Number.POSITIVE_INFINITY, this.visibleEnd()) : (after ?? 0);
    for (let n = 0; n < max; ) {
      const visibleEnd = this.visibleEnd();
      const candidates = this.index.viewPositions(kind, name, cursor, backward, Math.min(VIEW_PAGE, max - n));
      const positions = backward ? candidates : candidates.filter((p) => p < visibleEnd);
      if (positions.length === 0) return;
      const isCategory = kind === SEGMENT_KIND_CATEGORY;
      for (const e of readAt(this.engine, positions)) {
        // A colliding key's records are another name's: dropped (no slice of the id per event).
        if (isCategory ? !(e.streamId.startsWith(name) && e.streamId.charCodeAt(name.length) === 45) : e.type !== name) continue;
        if (!this.visibleByMetadata(e)) continue;
        yield e;
        if (++n >= max) return;
      }
      cursor = positions[positions.length - 1] as number;
      if (positions.length < candidates.length) return; // the rest is not visible yet
    }
  }

  /**
   * How many visible events of the global log lie after `after` (an event's position) and pass
   * `match` (the store's own `$$` streams left out), counted from their headers up to `cap`.
   */
  countAfter(after: number, match: FrameMatcher | undefined, cap: number): number {
    let n = 0;
    const system = compileFilter({ streamPrefix: '$$' }) as FrameMatcher;
    for (const { bytes, positions } of scanBlocks(this.engine, this.startAfter(after), this.visibleEnd)) {
      let i = 0;
      for (let off = 0; off < bytes.length && n < cap; off += bytes.readUInt32LE(off), i++) {
        const position = positions[i] as number;
        if (!system(bytes, off, position) && (!match || match(bytes, off, position))) n++;
      }
      if (n >= cap) break;
    }
    return n;
  }

  /** Events the global log's reads leave out: the store's own, and those stream metadata hides. */
  hidden(e: RecordedEvent): boolean {
    return isSystem(e) || !this.visibleByMetadata(e);
  }

  private withoutHidden(events: RecordedEvent[]): RecordedEvent[] {
    for (const e of events) if (this.hidden(e)) return events.filter((x) => !this.hidden(x));
    return events;
  }

  /** The first version in [from, to] whose timestamp is `time` or later (to + 1 when none), by
   * binary search: a stream's timestamps grow with its versions. */
  firstVersionFrom(streamId: string, from: number, to: number, time: number): number {
    let lo = from;
    let hi = to + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const [e] = this.streamRange(streamId, mid, mid);
      if (e && e.timestamp >= time) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Subscription step over one stream: the next visible events from version `from`. */
  streamBatch(streamId: string, from: number): RecordedEvent[] {
    const visible = this.visibleVersion(streamId);
    return from > visible ? [] : this.streamRange(streamId, from, Math.min(visible, from + SUBSCRIPTION_BATCH - 1));
  }

  /** Subscription step over the whole log. */
  logBatch(from: number, match?: FrameMatcher): { events: RecordedEvent[]; next: number } {
    return this.logFrom(from, SUBSCRIPTION_BATCH, SUBSCRIPTION_BATCH_BYTES, match);
  }
}

/** One event; a damaged one throws, or with `onDamaged` is reported and gives undefined. */
function decodeOne(bytes: Buffer, off: number, position: number, identity: number, onDamaged?: DamageHandler): RecordedEvent | undefined {
  try {
    return decodeEvent(bytes, off, position, identity);
  } catch (err) {
    if (!onDamaged || !(err instanceof CorruptionError)) throw err;
    onDamaged(position, err);
    return undefined;
  }
}

function missingVersion(streamId: string, version: number): CorruptionError {
  return new CorruptionError(`version ${version} of stream '${streamId}' is missing: its record is damaged (see stats().recovery.damaged)`);
}

/** An event of the store's own streams (`$$…`: consumer checkpoints), which reads of the global
 * log leave out. */
export function isSystem(e: RecordedEvent): boolean {
  return e.streamId.charCodeAt(0) === 36 && e.streamId.charCodeAt(1) === 36;
}
