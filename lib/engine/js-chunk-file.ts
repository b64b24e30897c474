/**
 * One data chunk file for the JS engine, through `fs` with positional reads and writes (no mmap in
 * Node). Created whole or not at all: header written to `NNNNNNNN.chunk.tmp`, synced, renamed, the
 * directory synced. Sparse like the native engine's: blocks are taken as records are written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError, toAnnalsError } from '../errors.js';
import {
  CHUNK_FOOTER_SIZE,
  CHUNK_HEADER_SIZE,
  type ChunkFooter,
  chunkFileName,
  chunkHeaderIdentity,
  chunkHeaderValid,
  dataCapacityEnd,
  decodeChunkFooter,
  encodeChunkFooter,
  encodeChunkHeader,
} from '../format/layout.js';
import { fsyncDirectory, removeFile, replaceFile } from '../fs-durable.js';

export function readExactly(fd: number, length: number, position: number): Buffer | undefined {
  const buf = Buffer.allocUnsafe(length);
  return readInto(fd, buf, length, position) ? buf : undefined;
}

/** Reads `length` bytes at `position` into the start of `into`; false when the file ends first. */
export function readInto(fd: number, into: Buffer, length: number, position: number): boolean {
  for (let done = 0; done < length; ) {
    const n = fs.readSync(fd, into, done, length - done, position + done);
    if (n === 0) return false;
    done += n;
  }
  return true;
}

/**
 * Appends land on blocks zero-filled up to this far ahead of them (refilled once half is used), as
 * in the native engine (native/chunk_log.cc has the measurements): in a sparse chunk each flush
 * would otherwise also allocate blocks, and fdatasync commit that metadata through the journal.
 */
export const ZERO_AHEAD_BYTES = 1 << 20;
const ZEROES = Buffer.alloc(64 * 1024);

export function writeFully(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

/** The chunk numbers in `dir`, ascending; a writable open removes leftover temporary files. */
export function listChunks(dir: string, writable: boolean): number[] {
  const numbers: number[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (/^\d{8}\.chunk$/.test(name)) numbers.push(Number(name.slice(0, 8)));
    else if (writable && name.endsWith('.tmp')) removeFile(path.join(dir, name));
  }
  return numbers.sort((a, b) => a - b);
}

/**
 * A chunk's descriptor is open while the chunk is written (the tail) or recently read; sealed
 * chunks are reopened on demand, so a large store does not hold one descriptor per chunk.
 */
export class JsChunkFile {
  sealed = false;
  footer: ChunkFooter | undefined;
  /** The store identity in the header (0: a version 1 or 2 header has none). */
  identity = 0;
  private handle: number | undefined;

  private constructor(
    readonly file: string,
    readonly number: number,
    readonly size: number,
    fd: number,
  ) {
    this.handle = fd;
  }

  /** The open descriptor, reopened read-only when it was released. */
  get fd(): number {
    this.handle ??= fs.openSync(this.file, 'r');
    return this.handle;
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  static create(dir: string, number: number, chunkSize: number, identity: number): JsChunkFile {
    const file = path.join(dir, chunkFileName(number));
    const tmp = `${file}.tmp`;
    let fd: number | undefined;
    try {
      fd = fs.openSync(tmp, 'w+');
      fs.ftruncateSync(fd, chunkSize);
      writeFully(fd, encodeChunkHeader(number, chunkSize, identity), 0);
      fs.fdatasyncSync(fd);
      replaceFile(tmp, file);
      fsyncDirectory(dir);
    } catch (err) {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw toAnnalsError(err, `create ${file}: `);
    }
    const chunk = new JsChunkFile(file, number, chunkSize, fd);
    chunk.identity = identity;
    return chunk;
  }

  /** Opens a chunk and reads its header and footer; only the tail (`keepOpen`) stays open. */
  static open(dir: string, number: number, chunkSize: number, writable: boolean, keepOpen = writable): JsChunkFile {
    const file = path.join(dir, chunkFileName(number));
    const fd = fs.openSync(file, writable ? 'r+' : 'r');
    const chunk = new JsChunkFile(file, number, chunkSize, fd);
    const header = readExactly(fd, CHUNK_HEADER_SIZE, 0);
    if (fs.fstatSync(fd).size !== chunkSize || !header || !chunkHeaderValid(header, number, chunkSize)) {
      fs.closeSync(fd);
      throw new CorruptionError(`chunk ${file} at offset 0: invalid chunk header`);
    }
    chunk.identity = chunkHeaderIdentity(header);
    const footer = readExactly(fd, CHUNK_FOOTER_SIZE, chunkSize - CHUNK_FOOTER_SIZE);
    chunk.footer = footer && decodeChunkFooter(footer);
    chunk.sealed = chunk.footer !== undefined;
    if (!keepOpen) chunk.release();
    return chunk;
  }

  /** Writes zeroes over [from, to) (clamped to the data region) without syncing, so the blocks
   * there are allocated before appends land on them (see ZERO_AHEAD_BYTES); false when the write
   * failed (a full disk): the append's own write reports that. */
  fillZeroes(from: number, to: number): boolean {
    const end = Math.min(to, dataCapacityEnd(this.size));
    try {
      for (let at = from; at < end; at += ZEROES.length) writeFully(this.fd, ZEROES.subarray(0, Math.min(ZEROES.length, end - at)), at);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Makes every byte from `offset` to the end of the file read as zero, keeping its size: shrinks
   * the file to `offset` and extends it back, which leaves a hole and so needs no free space (a
   * full disk can still undo a failed write), then syncs. Recovery's cut of a torn tail and the
   * undoing of a failed write (native: ChunkFile::CutAt).
   */
  cutAt(offset: number): void {
    fs.ftruncateSync(this.fd, offset);
    fs.ftruncateSync(this.fd, this.size);
    fs.fdatasyncSync(this.fd);
  }

  seal(footer: ChunkFooter): void {
    writeFully(this.fd, encodeChunkFooter(footer), this.size - CHUNK_FOOTER_SIZE);
    fs.fdatasyncSync(this.fd);
    this.sealed = true;
    this.footer = footer;
  }

  /** Forgets a footer recovery found unbacked by the data (sealHolds): the chunk is the tail. */
  unseal(): void {
    this.sealed = false;
    this.footer = undefined;
  }

  /** Closes the descriptor (reopened on the next use). */
  release(): void {
    if (this.handle !== undefined) fs.closeSync(this.handle);
    this.handle = undefined;
  }

  close(): void {
    this.release();
  }
}

/** Every chunk file of `dir`, opened in order: numbered from 0 without a gap, each one but the last
 * sealed with a footer whose data end is in range (CorruptionError otherwise). */
export function openChunkFiles(dir: string, chunkSize: number, readOnly: boolean): JsChunkFile[] {
  const numbers = listChunks(dir, !readOnly);
  numbers.forEach((n, i) => {
    if (n !== i) throw new CorruptionError(`chunk ${path.join(dir, `${String(i).padStart(8, '0')}.chunk`)} is missing`);
  });
  const chunks: JsChunkFile[] = [];
  try {
    for (const n of numbers) {
      const last = n === numbers.length - 1;
      const chunk = JsChunkFile.open(dir, n, chunkSize, last && !readOnly, last);
      chunks.push(chunk);
      const where = `chunk ${chunk.file} at offset ${chunkSize - CHUNK_FOOTER_SIZE}`;
      if (!last && !chunk.sealed) throw new CorruptionError(`${where}: chunk is not the last one but has no valid footer`);
      if (chunk.footer && (chunk.footer.dataEnd < CHUNK_HEADER_SIZE || chunk.footer.dataEnd > dataCapacityEnd(chunkSize))) {
        throw new CorruptionError(`${where}: footer data end out of range`);
      }
    }
  } catch (err) {
    for (const c of chunks) c.close();
    throw err;
  }
  return chunks;
}
