/**
 * The 48-bit key of a stream id or command id in the index: two MurmurHash3 (x86, 32-bit) hashes
 * of its UTF-8 bytes with different seeds, as `lo` and (its low 16 bits) `hi`. 48 bits because
 * segment entries store 6 bytes of key: a collision costs one record read more, never a wrong
 * answer. Only TypeScript computes keys (the
 * native side receives them), so there is no C++ twin to keep in step. A key is a hint: every hit
 * is checked against the record itself.
 */
const SEED_HI = 0x9747b28c;
const SEED_LO = 0x2f5d3a1b;
const KEY_HI_MASK = 0xffff;
const scratch = Buffer.allocUnsafe(4096);

// MurmurHash3 x86_32 in pieces, shared by the two paths below: the scramble of one 4-byte block,
// the mix of a block into the hash, and the finalizer.
function scramble(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

function mix(h: number, k: number): number {
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3's finaliser: every bit of the input moves every bit of the result. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function finish(h: number, len: number): number {
  return fmix32(h ^ len);
}

function murmur3(bytes: Uint8Array, len: number, seed: number, start = 0): number {
  let h = seed | 0;
  const blocks = start + (len & ~3);
  for (let i = start; i < blocks; i += 4) {
    h = mix(
      h,
      scramble(
        (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24),
      ),
    );
  }
  const tail = len & 3;
  if (tail > 0) {
    let k = 0;
    for (let i = tail - 1; i >= 0; i--) k ^= (bytes[blocks + i] as number) << (8 * i);
    h ^= scramble(k);
  }
  return finish(h, len);
}

export interface Key {
  hi: number;
  lo: number;
}

/** Both hashes of an ASCII string in one pass over its char codes (its UTF-8 bytes are those
 * codes): no encode into a buffer, which was most of a key's cost. `undefined` when `s` has a char
 * outside ASCII. */
function asciiKey(s: string): Key | undefined {
  let h1 = SEED_HI | 0;
  let h2 = SEED_LO | 0;
  const len = s.length;
  const blocks = len & ~3;
  for (let i = 0; i < blocks; i += 4) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    const c = s.charCodeAt(i + 2);
    const d = s.charCodeAt(i + 3);
    if ((a | b | c | d) > 0x7f) return undefined;
    const k = scramble(a | (b << 8) | (c << 16) | (d << 24));
    h1 = mix(h1, k);
    h2 = mix(h2, k);
  }
  const tail = len & 3;
  if (tail > 0) {
    let k = 0;
    for (let i = tail - 1; i >= 0; i--) {
      const ch = s.charCodeAt(blocks + i);
      if (ch > 0x7f) return undefined;
      k ^= ch << (8 * i);
    }
    k = scramble(k);
    h1 ^= k;
    h2 ^= k;
  }
  return { hi: finish(h1, len) & KEY_HI_MASK, lo: finish(h2, len) };
}

export function keyOf(s: string): Key {
  const ascii = asciiKey(s);
  if (ascii !== undefined) return ascii;
  if (s.length * 3 <= scratch.length) return keyOfBytes(scratch, scratch.write(s, 0, 'utf8'));
  const bytes = Buffer.from(s, 'utf8');
  return keyOfBytes(bytes, bytes.length);
}

/** The key of the first `len` bytes of `bytes` (the UTF-8 of an id): the definition keyOf's ASCII
 * path must agree with. */
export function keyOfBytes(bytes: Uint8Array, len: number = bytes.length): Key {
  return { hi: murmur3(bytes, len, SEED_HI) & KEY_HI_MASK, lo: murmur3(bytes, len, SEED_LO) };
}

/** The key of the `len` bytes at `start` of `buf` as one number (hi · 2^32 + lo, as the stream
 * rules keep them: stream-metadata.ts), without copying them: a scavenge judges each frame's stream
 * id by it (scavenge-pass.ts). */
export function keyNumberAt(buf: Uint8Array, start: number, len: number): number {
  return (murmur3(buf, len, SEED_HI, start) & KEY_HI_MASK) * 2 ** 32 + murmur3(buf, len, SEED_LO, start);
}
