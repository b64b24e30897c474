/**
 * Scavenged chunk layout (scavenged format version 2; version 1 is still read): a sealed data chunk rewritten without the
 * frames of events no read may return any more (lib/scavenge.ts), keeping every surviving event's
 * global position through a position map, after KurrentDB's scavenged chunks.
 *
 * The file keeps the chunk's name (`chunks/NNNNNNNN.chunk`), its size (`chunkSize`, sparse) and its
 * header byte for byte (magic, version, kind, number, size, first position, store identity):
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 64 | the original chunk header, unchanged |
 * | 64 | F | the surviving frames, back to back, each byte for byte as it was (its CRC still holds) |
 * | 64 + F | 8 × n | position map: one pair (u32 logical offset, u32 offset in this file) per run, ascending in both |
 * | 64 + F + 8n | 12 × e | erased commands (version 2): per removed frame that carried a command id, u32 logical offset, u32 key lo, u32 key hi (the 48-bit key of the id, lib/format/key-hash.ts; no byte of the id), ascending |
 * | … | … | zeroes (a hole: no disk blocks) |
 * | size − 64 | 64 | footer (below) |
 *
 * Footer: magic `ANNALSFT` · u8 format version (3) at 8 · u8 scavenged version (2) at 9 · u32
 * record count 0 at 12 · u48 data end 64 at 16 · u32 data checksum 0 at 24 · u32 runs n at 28 · u32 F + 64
 * (the map's offset) at 32 · u32 erased-command entries e at 36 (version 1: the map's offset is a
 * u48 at 32, and there is no section) · u48 logical data end (the sealed chunk's data end before any
 * scavenge) at 40 · u32 CRC-32C of the map and the erased-command section at 48 · u32 data checksum of the surviving frames (chained as a
 * chunk's, record-scanner.ts) at 52 · u32 record count before any scavenge at 56 · CRC-32C of bytes
 * 0–59 at 60.
 *
 * A run is a maximal sequence of surviving frames that were back to back in the chunk as first
 * written (no removed frame between them): the map holds one entry per run, the place of its first
 * frame, and the frames of a run follow it as they did. Every run but the first starts after at
 * least one removed frame of 16 bytes or more, so the map (8 bytes a run) always fits in the space
 * the removed frames left, however few were removed; an erased-command entry (12 bytes) stands for
 * a removed frame with a command id, at least 36 bytes, which leaves room for it and its run's
 * entry. The erased-command keys let an index rebuilt from the log (lost index files) still refuse
 * a retry of a command whose events were erased (lib/engine/scavenged-log.ts erasedCommandsIn). Readers expand it into a per-frame map once,
 * walking the frames' lengths (scavenged-chunk-file.ts).
 *
 * Invariants: a logical offset is the frame's offset in the chunk as first written, so its global
 * position is chunk number × chunk size + logical offset, forever; runs ascend in both offsets, the
 * first starts at offset 64 of the file, each run's frames tile the file up to the next run's start
 * (the last run's up to the map) and its logical span does not reach the next run's logical start;
 * the frames' chained checksum is the footer's. A logical offset that is no surviving frame's is an
 * event removed by a scavenge (or never a frame). Both engines see the footer of an empty sealed
 * chunk (data end 64, no records) and so never read its frames themselves: every read of a
 * scavenged chunk goes through lib/engine/scavenged-log.ts, one path both engines share. A build
 * before this one would read a scavenged chunk as empty: a scavenged store must not be opened by
 * one (docs/ARCHITECTURE.md).
 */
import { crc32c } from './crc32c.js';
import { CHUNK_FOOTER_SIZE, CHUNK_HEADER_SIZE, decodeChunkFooter, encodeChunkFooter } from './layout.js';

/** The version this build writes; version 1 (no erased commands) is still read. */
export const SCAVENGED_VERSION = 2;
export const POSMAP_ENTRY_SIZE = 8;
/** An erased command entry: u32 logical offset, u32 key lo, u32 key hi. */
export const ERASED_ENTRY_SIZE = 12;

export interface ScavengedFooter {
  /** Runs of surviving frames (entries of the position map). */
  runs: number;
  /** Where the position map starts: the end of the surviving frames. */
  mapOffset: number;
  /** The chunk's data end as first sealed (logical offsets are below it). */
  logicalEnd: number;
  mapChecksum: number;
  /** Chained checksum of the surviving frames' first 8 bytes (as a chunk footer's). */
  dataChecksum: number;
  /** Records of the chunk as first sealed. */
  originalRecords: number;
  /** Entries of the erased-command section after the map (0 in version 1). */
  erased: number;
}

/** The command keys of a scavenged chunk's removed frames that carried a command id, by their
 * logical offsets (ascending). */
export interface ErasedCommands {
  logical: Uint32Array;
  hi: Uint32Array;
  lo: Uint32Array;
}

/** Whether a valid chunk footer is a scavenged one. */
export function isScavengedFooter(b: Buffer): boolean {
  return b.length >= CHUNK_FOOTER_SIZE && decodeChunkFooter(b) !== undefined && (b[9] === 1 || b[9] === 2);
}

export function encodeScavengedFooter(f: ScavengedFooter): Buffer {
  const b = encodeChunkFooter({ recordCount: 0, dataEnd: CHUNK_HEADER_SIZE, dataChecksum: 0 });
  b[9] = SCAVENGED_VERSION;
  b.writeUInt32LE(f.runs, 28);
  b.writeUInt32LE(f.mapOffset, 32);
  b.writeUInt32LE(f.erased, 36);
  b.writeUIntLE(f.logicalEnd, 40, 6);
  b.writeUInt32LE(f.mapChecksum >>> 0, 48);
  b.writeUInt32LE(f.dataChecksum >>> 0, 52);
  b.writeUInt32LE(f.originalRecords >>> 0, 56);
  b.writeUInt32LE(crc32c(b, 0, 0, 60), 60);
  return b;
}

/** The scavenged fields of a footer; undefined when it is not a valid scavenged footer. */
export function decodeScavengedFooter(b: Buffer, chunkSize: number): ScavengedFooter | undefined {
  if (!isScavengedFooter(b)) return undefined;
  const v2 = b[9] === 2;
  const f: ScavengedFooter = {
    runs: b.readUInt32LE(28),
    mapOffset: v2 ? b.readUInt32LE(32) : b.readUIntLE(32, 6),
    erased: v2 ? b.readUInt32LE(36) : 0,
    logicalEnd: b.readUIntLE(40, 6),
    mapChecksum: b.readUInt32LE(48),
    dataChecksum: b.readUInt32LE(52),
    originalRecords: b.readUInt32LE(56),
  };
  const dataCapacity = chunkSize - CHUNK_FOOTER_SIZE;
  if (f.mapOffset < CHUNK_HEADER_SIZE || f.mapOffset + scavengedTailSize(f) > dataCapacity) return undefined;
  if (f.logicalEnd < CHUNK_HEADER_SIZE || f.logicalEnd > dataCapacity) return undefined;
  return f;
}

/** Bytes of the map and the erased-command section after the surviving frames. */
export function scavengedTailSize(f: { runs: number; erased: number }): number {
  return f.runs * POSMAP_ENTRY_SIZE + f.erased * ERASED_ENTRY_SIZE;
}

/** The erased-command section's bytes. */
export function encodeErasedCommands(e: ErasedCommands): Buffer {
  const n = e.logical.length;
  const b = Buffer.alloc(n * ERASED_ENTRY_SIZE);
  for (let i = 0; i < n; i++) {
    b.writeUInt32LE(e.logical[i] as number, i * ERASED_ENTRY_SIZE);
    b.writeUInt32LE(e.lo[i] as number, i * ERASED_ENTRY_SIZE + 4);
    b.writeUInt32LE(e.hi[i] as number, i * ERASED_ENTRY_SIZE + 8);
  }
  return b;
}

/** The erased-command section of a tail (map then section, as read for decodeRunMap). */
export function decodeErasedCommands(tail: Buffer, f: ScavengedFooter): ErasedCommands {
  const n = f.erased;
  const e: ErasedCommands = { logical: new Uint32Array(n), hi: new Uint32Array(n), lo: new Uint32Array(n) };
  const at = f.runs * POSMAP_ENTRY_SIZE;
  for (let i = 0; i < n; i++) {
    e.logical[i] = tail.readUInt32LE(at + i * ERASED_ENTRY_SIZE);
    e.lo[i] = tail.readUInt32LE(at + i * ERASED_ENTRY_SIZE + 4);
    e.hi[i] = tail.readUInt32LE(at + i * ERASED_ENTRY_SIZE + 8);
  }
  return e;
}

/** The entries of `a` and `b` (each ascending, no offset in both) in one ascending list. */
export function mergeErasedCommands(a: ErasedCommands, b: ErasedCommands): ErasedCommands {
  const n = a.logical.length + b.logical.length;
  const out: ErasedCommands = { logical: new Uint32Array(n), hi: new Uint32Array(n), lo: new Uint32Array(n) };
  let i = 0;
  let j = 0;
  for (let k = 0; k < n; k++) {
    const fromA = j >= b.logical.length || (i < a.logical.length && (a.logical[i] as number) < (b.logical[j] as number));
    const src = fromA ? a : b;
    const x = fromA ? i++ : j++;
    out.logical[k] = src.logical[x] as number;
    out.hi[k] = src.hi[x] as number;
    out.lo[k] = src.lo[x] as number;
  }
  return out;
}

/** The position map's bytes. */
export function encodePositionMap(logical: ArrayLike<number>, offsets: ArrayLike<number>, count: number): Buffer {
  const b = Buffer.alloc(count * POSMAP_ENTRY_SIZE);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < count; i++) {
    v.setUint32(i * POSMAP_ENTRY_SIZE, logical[i] as number, true);
    v.setUint32(i * POSMAP_ENTRY_SIZE + 4, offsets[i] as number, true);
  }
  return b;
}

/** The runs of a scavenged chunk: where each starts, logically and in the file. */
export interface RunMap {
  logical: Uint32Array;
  offsets: Uint32Array;
}

/** Each run's start from per-frame places (ascending): frame i starts a run unless it followed
 * frame i - 1 directly in the chunk as first written. */
export function runsOf(
  logical: ArrayLike<number>,
  offsets: ArrayLike<number>,
  count = logical.length,
): { logical: number[]; offsets: number[] } {
  const out = { logical: [] as number[], offsets: [] as number[] };
  for (let i = 0; i < count; i++) {
    const follows = i > 0 && (logical[i] as number) - (logical[i - 1] as number) === (offsets[i] as number) - (offsets[i - 1] as number);
    if (follows) continue;
    out.logical.push(logical[i] as number);
    out.offsets.push(offsets[i] as number);
  }
  return out;
}

/** Decodes and checks a run map against its footer; a description of the fault when invalid. `b`:
 * the tail after the frames (scavengedTailSize bytes: the map, then any erased-command section,
 * which the footer's map checksum covers too). */
export function decodeRunMap(b: Buffer, f: ScavengedFooter): RunMap | string {
  if (crc32c(b, 0, 0, b.length) !== f.mapChecksum) return 'position map checksum mismatch';
  const logical = new Uint32Array(f.runs);
  const offsets = new Uint32Array(f.runs);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < f.runs; i++) {
    logical[i] = v.getUint32(i * POSMAP_ENTRY_SIZE, true);
    offsets[i] = v.getUint32(i * POSMAP_ENTRY_SIZE + 4, true);
  }
  for (let i = 0; i < f.runs; i++) {
    const lo = logical[i] as number;
    const o = offsets[i] as number;
    const next = i + 1 < f.runs ? (offsets[i + 1] as number) : f.mapOffset;
    if (i === 0 && o !== CHUNK_HEADER_SIZE) return 'position map does not start at the first frame';
    if (next <= o || lo < CHUNK_HEADER_SIZE || lo + (next - o) > f.logicalEnd) return `position map entry ${i} out of range`;
    if (i + 1 < f.runs && (logical[i + 1] as number) <= lo + (next - o))
      return `position map entry ${i + 1} does not follow a removed frame`;
  }
  if (f.runs === 0 && f.mapOffset !== CHUNK_HEADER_SIZE) return 'empty position map after frames';
  return { logical, offsets };
}

/** The bytes of a sealed chunk that hold its data (header, frames and, when scavenged, the map):
 * what a copy of it must take besides its footer. Undefined for an invalid footer. */
export function sealedDataEnd(footer: Buffer, chunkSize: number): number | undefined {
  const plain = decodeChunkFooter(footer);
  if (!plain) return undefined;
  if (footer[9] === 0) return plain.dataEnd;
  const f = decodeScavengedFooter(footer, chunkSize);
  return f ? f.mapOffset + scavengedTailSize(f) : undefined;
}
