/**
 * The file copies a backup is made of (backup.ts): a chunk's data copied into a new chunk file of
 * the same size that stays sparse (only the bytes that hold data are written; the rest is a hole,
 * as in the source, never zeroes), and a walk over the tail's frames as they pass, for the
 * checkpoint the copy gets. All I/O is asynchronous, in bounded blocks: a backup of a live store
 * leaves the event loop to its appends.
 */
import fs from 'node:fs/promises';
import { CHUNK_FOOTER_SIZE, CHUNK_HEADER_SIZE, FRAME_HEADER_SIZE } from './format/layout.js';
import { chainFrameChecksum } from './format/record-scanner.js';
import { sealedDataEnd } from './format/scavenged-chunk.js';

/** Bytes read and written at once: large enough for sequential speed, small enough that the
 * copy's buffer is no memory concern and progress moves often. */
const BLOCK = 1 << 20;

/**
 * Follows the frames of a chunk's data region by their length fields as the bytes stream past,
 * chaining the data checksum (each frame's first 8 bytes) and counting them: what the writer
 * checkpoint says of the tail. A frame header may straddle two blocks: its first bytes wait in
 * `pending` for the next block.
 */
export class FrameWalker {
  next = CHUNK_HEADER_SIZE;
  records = 0;
  checksum = 0;
  generation = 0;
  /** False once a length field makes no sense: the walk stops believing the lengths. */
  sound = true;
  private pending: Buffer = Buffer.alloc(0);

  /** `block` holds the chunk's bytes from offset `at`. */
  feed(block: Buffer, at: number): void {
    if (!this.sound || at + block.length <= this.next) return;
    let buf = block;
    let base = at;
    if (this.pending.length > 0) {
      buf = Buffer.concat([this.pending, block]);
      base = at - this.pending.length;
      this.pending = Buffer.alloc(0);
    }
    while (this.next >= base && this.next - base + FRAME_HEADER_SIZE <= buf.length) {
      const off = this.next - base;
      const len = buf.readUInt32LE(off);
      if (len < FRAME_HEADER_SIZE) {
        this.sound = false;
        return;
      }
      this.checksum = chainFrameChecksum(this.checksum, buf, off);
      this.generation = Math.max(this.generation, buf.readUInt32LE(off + 12));
      this.records++;
      this.next += len;
    }
    if (this.next >= base && this.next < base + buf.length) this.pending = Buffer.from(buf.subarray(this.next - base));
  }

  /** Whether the frames ended exactly at `end`, so the counts describe [header, end). */
  endsAt(end: number): boolean {
    return this.sound && this.next === end && this.pending.length === 0;
  }
}

/**
 * Writes a new chunk file `dst` of `chunkSize` bytes holding `src`'s bytes [0, dataEnd) (header and
 * frames) and, for a sealed chunk, its footer; everything else stays a hole. Synced before it
 * returns. `walker` sees the bytes copied; `onBytes` how many as they go.
 */
export async function copyChunk(
  src: string,
  dst: string,
  chunkSize: number,
  dataEnd: number,
  footer: Buffer | undefined,
  onBytes: (n: number) => void,
  walker?: FrameWalker,
): Promise<void> {
  const from = await fs.open(src, 'r');
  try {
    const to = await fs.open(dst, 'wx');
    try {
      // Sized first and written only where data lies: the file is as sparse as the data allows.
      await to.truncate(chunkSize);
      if (footer) {
        // A scavenge may have swapped the chunk since its footer was read: this handle's file is
        // the one copied, so its own footer says what to copy.
        const own = Buffer.alloc(CHUNK_FOOTER_SIZE);
        await from.read(own, 0, CHUNK_FOOTER_SIZE, chunkSize - CHUNK_FOOTER_SIZE);
        const ownEnd = own.equals(footer) ? dataEnd : sealedDataEnd(own, chunkSize);
        if (ownEnd === undefined) throw new Error(`${src}: its footer changed into an invalid one during the copy`);
        footer = own;
        dataEnd = ownEnd;
      }
      const buf = Buffer.allocUnsafe(BLOCK);
      for (let at = 0; at < dataEnd; ) {
        const want = Math.min(BLOCK, dataEnd - at);
        const { bytesRead } = await from.read(buf, 0, want, at);
        if (bytesRead !== want) throw new Error(`${src} ended at offset ${at + bytesRead}, before its data end ${dataEnd}`);
        const block = buf.subarray(0, want);
        walker?.feed(block, at);
        await writeAll(to, block, at);
        at += want;
        onBytes(want);
      }
      if (footer) await writeAll(to, footer, chunkSize - CHUNK_FOOTER_SIZE);
      await to.datasync();
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}

/** The footer bytes of a sealed chunk file (the last 64 bytes of its size). */
export async function readFooter(file: string, chunkSize: number): Promise<Buffer> {
  const h = await fs.open(file, 'r');
  try {
    const b = Buffer.alloc(CHUNK_FOOTER_SIZE);
    const { bytesRead } = await h.read(b, 0, CHUNK_FOOTER_SIZE, chunkSize - CHUNK_FOOTER_SIZE);
    return b.subarray(0, bytesRead);
  } finally {
    await h.close();
  }
}

async function writeAll(h: fs.FileHandle, b: Buffer, position: number): Promise<void> {
  for (let done = 0; done < b.length; ) {
    const { bytesWritten } = await h.write(b, done, b.length - done, position + done);
    done += bytesWritten;
  }
}

/** Writes `data` to a new file `dst` and syncs it. */
export async function writeNewFile(dst: string, data: Buffer): Promise<void> {
  const h = await fs.open(dst, 'wx');
  try {
    await writeAll(h, data, 0);
    await h.datasync();
  } finally {
    await h.close();
  }
}
