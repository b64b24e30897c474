/**
 * The index fields of every record in a log range, for the index's own scans: the replay of the
 * unindexed tail at open, a segment's rebuild, and the lookups that answer from the log over a
 * broken segment. A damaged record (its frame, or its body) is reported through `onDamaged` and
 * skipped: one damaged record must not make the rest of the store unreachable. It is still refused
 * whenever it is read.
 */
import type { LogEngine } from '../engine/log-engine.js';
import { ScavengeAwareLog } from '../engine/scavenged-log.js';
import { CorruptionError } from '../errors.js';
import type { Key } from '../format/key-hash.js';
import { FRAME_FLAG_COMMIT } from '../format/layout.js';
import { decodeIndexFields } from '../format/record-decode.js';
import { type DamageHandler, framesOf, scanBlocks } from '../log-reader.js';
import type { IndexFields } from './segment-search.js';

export interface IndexedRecord {
  position: number;
  fields: IndexFields;
  /** The position after the record. */
  end: number;
  /** The record ends its append (its frame has the COMMIT flag): a place where a memtable may end
   * without splitting an append, and with it a command, over two memtables. */
  commit: boolean;
}

/** A command whose events a scavenge erased, kept by its chunk (ScavengeAwareLog.erasedCommandsIn). */
export interface ErasedCommandEntry {
  position: number;
  erasedKey: Key;
}

/**
 * indexedRecords, with the erased commands scavenged chunks keep merged in by position (each
 * before the first record after it; those after the last record up to `limit()` at the end): the
 * command entries of an index rebuilt from the log, so a retry of an erased command is refused as
 * before the index files were lost.
 */
export function* indexedItems(
  engine: LogEngine,
  from: number,
  limit: () => number,
  onDamaged: DamageHandler,
): Generator<IndexedRecord | ErasedCommandEntry> {
  const erased = engine instanceof ScavengeAwareLog && engine.anyScavenged ? engine.erasedCommandsIn(from, limit()) : undefined;
  let next = erased?.next();
  for (const r of indexedRecords(engine, from, limit, onDamaged)) {
    for (; next && !next.done && next.value.position < r.position; next = erased?.next())
      yield { position: next.value.position, erasedKey: next.value.key };
    yield r;
  }
  for (; next && !next.done; next = erased?.next()) yield { position: next.value.position, erasedKey: next.value.key };
}

export function* indexedRecords(engine: LogEngine, from: number, limit: () => number, onDamaged: DamageHandler): Generator<IndexedRecord> {
  for (const { bytes, positions } of scanBlocks(engine, from, limit, onDamaged)) {
    let i = 0;
    for (const [off] of framesOf(bytes)) {
      const position = positions[i++] as number;
      let fields: IndexFields;
      try {
        fields = decodeIndexFields(bytes, off, position);
      } catch (err) {
        if (!(err instanceof CorruptionError)) throw err;
        onDamaged(position, err);
        continue;
      }
      yield { position, fields, end: position + bytes.readUInt32LE(off), commit: ((bytes[off + 9] as number) & FRAME_FLAG_COMMIT) !== 0 };
    }
  }
}
