/**
 * Decoded stream ids and event types, remembered by their bytes. Reads decode the same few ids and
 * types over and over (a stream read returns one stream id and a handful of types), so a small
 * direct-mapped cache answers most of them with a byte comparison instead of a UTF-8 decode and a
 * new string. Only short strings are cached; a slot holds a copy of the bytes it answers for.
 */
import { utf8Text } from './text.js';

const SLOTS = 64;
const MAX_BYTES = 64;
const slab = new Uint8Array(SLOTS * MAX_BYTES);
const lengths = new Int32Array(SLOTS).fill(-1);
const texts: string[] = new Array<string>(SLOTS).fill('');

export function cachedString(buf: Buffer, start: number, end: number): string {
  const len = end - start;
  if (len > MAX_BYTES || len === 0) return utf8Text(buf, start, end);
  const slot = (len * 31 + (buf[start] as number) * 7 + (buf[end - 1] as number) + (buf[start + (len >> 1)] as number) * 131) & (SLOTS - 1);
  const base = slot * MAX_BYTES;
  if (lengths[slot] === len) {
    let i = 0;
    while (i < len && slab[base + i] === buf[start + i]) i++;
    if (i === len) return texts[slot] as string;
  }
  const text = utf8Text(buf, start, end);
  // A loop, not slab.set(buf.subarray()): the subarray is a new Buffer object, which costs more
  // than copying an id's few bytes.
  for (let i = 0; i < len; i++) slab[base + i] = buf[start + i] as number;
  lengths[slot] = len;
  texts[slot] = text;
  return text;
}
