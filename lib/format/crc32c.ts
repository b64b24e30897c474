/**
 * CRC-32C (Castagnoli), slicing-by-8: the TypeScript twin of native/crc32c.cc. Used by the JS
 * engine for every frame it writes or reads; results are bit-identical to the native ones.
 */
const POLY = 0x82f63b78;
const TABLES: Uint32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  const t0 = t[0] as Uint32Array;
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[i] = c >>> 0;
  }
  for (let s = 1; s < 8; s++) {
    const prev = t[s - 1] as Uint32Array;
    const cur = t[s] as Uint32Array;
    for (let i = 0; i < 256; i++) {
      const p = prev[i] as number;
      cur[i] = ((p >>> 8) ^ (t0[p & 0xff] as number)) >>> 0;
    }
  }
  return t;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];

/** Extends `seed` (0 for a fresh checksum) over bytes [start, end) of `buf`. */
export function crc32c(buf: Uint8Array, seed = 0, start = 0, end = buf.length): number {
  let crc = ~seed >>> 0;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const lo = ((buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16) | ((buf[i + 3] as number) << 24)) ^ crc;
    const hi = (buf[i + 4] as number) | ((buf[i + 5] as number) << 8) | ((buf[i + 6] as number) << 16) | ((buf[i + 7] as number) << 24);
    crc =
      (T7[lo & 0xff] as number) ^
      (T6[(lo >>> 8) & 0xff] as number) ^
      (T5[(lo >>> 16) & 0xff] as number) ^
      (T4[lo >>> 24] as number) ^
      (T3[hi & 0xff] as number) ^
      (T2[(hi >>> 8) & 0xff] as number) ^
      (T1[(hi >>> 16) & 0xff] as number) ^
      (T0[hi >>> 24] as number);
    i += 8;
  }
  while (i < end) crc = (crc >>> 8) ^ (T0[(crc ^ (buf[i++] as number)) & 0xff] as number);
  return ~crc >>> 0;
}
