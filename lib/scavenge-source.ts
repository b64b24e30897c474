/**
 * What both scavenge passes (scavenge-pass.ts, and the native one: scavenge-native.ts) share about
 * the files: where a chunk's frames lie and how its file offsets map to logical ones (`openSource`,
 * over an ordinary sealed chunk or a scavenged one of either version), and the tail each pass
 * writes after the survivors (`writeTail`: the run map, the erased-command section, the header and
 * the footer, lib/format/scavenged-chunk.ts). One function for both is what keeps their temp files
 * byte-identical.
 */
import fs from 'node:fs';
import { readInto } from './engine/js-chunk-file.js';
import { CorruptionError } from './errors.js';
import { crc32c } from './format/crc32c.js';
import { CHUNK_FOOTER_SIZE, CHUNK_HEADER_SIZE, decodeChunkFooter } from './format/layout.js';
import {
  decodeErasedCommands,
  decodeRunMap,
  decodeScavengedFooter,
  type ErasedCommands,
  encodeErasedCommands,
  encodePositionMap,
  encodeScavengedFooter,
  mergeErasedCommands,
  runsOf,
  scavengedTailSize,
} from './format/scavenged-chunk.js';
import { writeAt } from './scavenge-output.js';
import type { PassRequest } from './scavenge-pass.js';

/** Where the chunk's frames lie in its file and how a file offset maps to a logical one. */
export interface Source {
  fd: number;
  header: Buffer;
  end: number;
  before: number;
  logicalEnd: number;
  originalRecords: number;
  /** The footer's chained checksum of the frames, and their count (-1: not recorded). */
  dataChecksum: number;
  records: number;
  runs?: { logical: Uint32Array; offsets: Uint32Array };
  /** The erased commands a scavenge before kept (none for a plain chunk or version 1). */
  erased: ErasedCommands;
}

const NO_ERASED: ErasedCommands = { logical: new Uint32Array(0), hi: new Uint32Array(0), lo: new Uint32Array(0) };

export function readFully(fd: number, into: Buffer, length: number, at: number): void {
  if (!readInto(fd, into, length, at)) throw new CorruptionError(`chunk file ends inside its data (${length} bytes at ${at})`);
}

export function openSource(req: PassRequest): Source {
  const fd = fs.openSync(req.file, 'r');
  try {
    const header = Buffer.alloc(CHUNK_HEADER_SIZE);
    const footer = Buffer.alloc(CHUNK_FOOTER_SIZE);
    readFully(fd, header, CHUNK_HEADER_SIZE, 0);
    readFully(fd, footer, CHUNK_FOOTER_SIZE, req.chunkSize - CHUNK_FOOTER_SIZE);
    const plain = decodeChunkFooter(footer);
    if (!plain) throw new CorruptionError(`chunk ${req.file}: invalid footer`);
    if (footer[9] === 0) {
      const end = plain.dataEnd;
      const sums = { dataChecksum: plain.dataChecksum, records: plain.recordCount };
      return { fd, header, end, before: 0, logicalEnd: end, originalRecords: plain.recordCount, erased: NO_ERASED, ...sums };
    }
    const f = decodeScavengedFooter(footer, req.chunkSize);
    if (!f) throw new CorruptionError(`chunk ${req.file}: invalid scavenged footer`);
    const tail = Buffer.alloc(scavengedTailSize(f));
    readFully(fd, tail, tail.length, f.mapOffset);
    const runs = decodeRunMap(tail, f);
    if (typeof runs === 'string') throw new CorruptionError(`chunk ${req.file} at offset ${f.mapOffset}: ${runs}`);
    const erased = decodeErasedCommands(tail, f);
    const sums = { dataChecksum: f.dataChecksum, records: -1 };
    const where = { end: f.mapOffset, before: tail.length, logicalEnd: f.logicalEnd };
    return { fd, header, ...where, originalRecords: f.originalRecords, runs, erased, ...sums };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** The survivors a pass wrote at [CHUNK_HEADER_SIZE, end) of the temp file: their per-frame map
 * (the first `count` entries), and the data checksum chained over them. */
export interface Survived {
  logical: Uint32Array;
  offsets: Uint32Array;
  count: number;
  end: number;
  checksum: number;
  chunkSize: number;
}

/** Writes the rest of the temp file after the survivors: the run map, the header and the footer;
 * returns the map's size. Both passes (this one, and the native one: scavenge-native.ts) end
 * here, so their files differ in nothing they did not write the same. */
export function writeTail(fd: number, s: Survived, erased: ErasedCommands, src: Source): number {
  const runs = runsOf(s.logical, s.offsets, s.count);
  const all = mergeErasedCommands(src.erased, erased);
  const map = Buffer.concat([encodePositionMap(runs.logical, runs.offsets, runs.logical.length), encodeErasedCommands(all)]);
  writeAt(fd, map, s.end);
  writeAt(fd, src.header, 0);
  const footer = encodeScavengedFooter({
    runs: runs.logical.length,
    mapOffset: s.end,
    logicalEnd: src.logicalEnd,
    mapChecksum: crc32c(map, 0, 0, map.length),
    dataChecksum: s.checksum,
    originalRecords: src.originalRecords,
    erased: all.logical.length,
  });
  writeAt(fd, footer, s.chunkSize - CHUNK_FOOTER_SIZE);
  return map.length;
}
