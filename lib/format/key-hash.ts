/**
 * The 64-bit key of a stream id or command id in the index: two MurmurHash3 (x86, 32-bit) hashes
 * of its UTF-8 bytes with different seeds, as `hi` and `lo`. Only TypeScript computes keys (the
 * native side receives them), so there is no C++ twin to keep in step. A key is a hint: every hit
 * is checked against the record itself.
 */
const SEED_HI = 0x9747b28c;
const SEED_LO = 0x2f5d3a1b;
const scratch = Buffer.allocUnsafe(4096);

function murmur3(bytes: Uint8Array, len: number, seed: number): number {
  let h = seed >>> 0;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const blocks = len & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = len & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= (bytes[blocks + 2] as number) << 16;
    if (tail >= 2) k ^= (bytes[blocks + 1] as number) << 8;
    k ^= bytes[blocks] as number;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface Key {
  hi: number;
  lo: number;
}

export function keyOf(s: string): Key {
  let bytes: Uint8Array = scratch;
  let len: number;
  if (s.length * 3 <= scratch.length) {
    len = scratch.write(s, 0, 'utf8');
  } else {
    bytes = Buffer.from(s, 'utf8');
    len = bytes.length;
  }
  return { hi: murmur3(bytes, len, SEED_HI), lo: murmur3(bytes, len, SEED_LO) };
}
