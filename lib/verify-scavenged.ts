/**
 * `verify` over a scavenged chunk (lib/format/scavenged-chunk.ts): its footer and run map, every
 * surviving frame (CRC, body) at its logical position, the runs tiling the frames region, and the
 * frames' chained checksum against the footer. Index entries of events a scavenge removed are
 * expected (reads drop them), so verify.ts accepts an entry at a position of a scavenged chunk that
 * no surviving record holds.
 */
import { CorruptionError } from './errors.js';
import { CHUNK_FOOTER_SIZE, FRAME_HEADER_SIZE } from './format/layout.js';
import { decodeIndexFields, derivesId } from './format/record-decode.js';
import { chainFrameChecksum } from './format/record-scanner.js';
import { decodeRunMap, decodeScavengedFooter, scavengedTailSize } from './format/scavenged-chunk.js';
import type { RecordKeys } from './verify-records.js';

export interface ScavengedCheck {
  b: Buffer;
  file: string;
  n: number;
  chunkSize: number;
  identity: number;
  records: RecordKeys;
  /** Length of the valid event frame at `off` below `end`, 0 when it is not one. */
  frameOk(b: Buffer, off: number, end: number): number;
  fault(file: string, offset: number, problem: string): void;
}

/** Checks a scavenged chunk, adding its records; returns how many it holds. */
export function verifyScavengedChunk(c: ScavengedCheck): number {
  const { b, file, chunkSize } = c;
  const footer = decodeScavengedFooter(b.subarray(chunkSize - CHUNK_FOOTER_SIZE), chunkSize);
  if (!footer) {
    c.fault(file, chunkSize - CHUNK_FOOTER_SIZE, 'invalid scavenged footer');
    return 0;
  }
  const runs = decodeRunMap(b.subarray(footer.mapOffset, footer.mapOffset + scavengedTailSize(footer)), footer);
  if (typeof runs === 'string') {
    c.fault(file, footer.mapOffset, runs);
    return 0;
  }
  const base = c.n * chunkSize;
  let count = 0;
  let checksum = 0;
  for (let r = 0; r < runs.logical.length; r++) {
    const start = runs.offsets[r] as number;
    const end = r + 1 < runs.offsets.length ? (runs.offsets[r + 1] as number) : footer.mapOffset;
    for (let off = start; off < end; ) {
      const len = c.frameOk(b, off, end);
      if (len === 0) {
        c.fault(file, off, 'damaged record (scavenged chunk)');
        // A scavenge copies a frame whose body is damaged as it is: its stated length is walked on,
        // and the footer's checksum below says whether the lengths were right.
        const stated = off + 4 <= end ? b.readUInt32LE(off) : 0;
        if (stated < FRAME_HEADER_SIZE || off + stated > end) break;
        checksum = chainFrameChecksum(checksum, b, off);
        count++;
        off += stated;
        continue;
      }
      checksum = chainFrameChecksum(checksum, b, off);
      const position = base + (runs.logical[r] as number) + (off - start);
      try {
        c.records.add(position, decodeIndexFields(b, off, position));
        if (c.identity === 0 && derivesId(b, off)) c.fault(file, off, 'record derives its id, but its chunk has no store identity');
      } catch (err) {
        if (!(err instanceof CorruptionError)) throw err;
        c.fault(file, off, 'damaged record body');
      }
      count++;
      off += len;
    }
  }
  if (checksum >>> 0 !== footer.dataChecksum >>> 0)
    c.fault(file, chunkSize - CHUNK_FOOTER_SIZE, 'scavenged frames do not match the footer checksum');
  return count;
}
