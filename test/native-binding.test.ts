import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../lib/native.js';
import { tempDir } from './helpers.js';

const addon = nativeAddon();

// Numbers reach the addon as doubles; one cast to an integer type out of range (negative, NaN,
// Infinity, too large) is undefined behaviour in C++, so every such argument is checked first.
describe.skipIf(!addon)('the addon’s number arguments', () => {
  const native = addon as NonNullable<typeof addon>;
  const bad = [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 64, 1.5];
  const invalid = { code: 'INVALID_ARGUMENT' };

  it('refuses a chunk size, scan bound or read count that is not a small non-negative integer', () => {
    const dir = tempDir();
    for (const v of bad) expect(() => new native.NativeLog(dir, v, false), String(v)).toThrow(expect.objectContaining(invalid));
    const log = new native.NativeLog(dir, 1 << 20, false);
    log.open(7);
    for (const v of bad) {
      expect(() => log.scan(v, 100, 1024), `from ${v}`).toThrow(/from must be an integer/);
      expect(() => log.scan(64, v, 1024), `limit ${v}`).toThrow(/limit must be an integer/);
      expect(() => log.scan(64, 100, v), `maxBytes ${v}`).toThrow(/maxBytes must be an integer/);
    }
    expect(log.scan(64, 64, 1024).bytes.length).toBe(0);
    const positions = new Float64Array(4);
    log.pinReads(positions, new Uint8Array(64));
    for (const v of [-1, Number.NaN, 5]) expect(() => log.readPinned(v), String(v)).toThrow(/count exceeds/);
    positions[0] = -3;
    expect(() => log.readPinned(1)).toThrow(/position must be a non-negative integer/);
    log.close();
  });

  it('refuses a segment spec that is not made of integers in range', () => {
    const dir = tempDir();
    const one = [Uint32Array.of(1), Uint32Array.of(2), Uint32Array.of(1), Float64Array.of(64)] as const;
    for (const v of bad) {
      expect(() => native.buildSegment(dir, 's.seg', 1, v, 100, ...one), `from ${v}`).toThrow(/fromPosition must be an integer/);
      expect(() => native.buildSegment(dir, 's.seg', v, 64, 100, ...one), `kind ${v}`).toThrow(/kind must be an integer/);
    }
    expect(() => native.buildSegment(dir, 's.seg', 256, 64, 100, ...one)).toThrow(/kind must be an integer from 0 to 255/);
  });

  // A typed array of another element type was read as the expected one, past its end; any wrapped
  // object was unwrapped as a segment. Both were undefined behaviour.
  it('refuses typed arrays of the wrong element type, and merge inputs that are not segments', async () => {
    const dir = tempDir();
    const log = new native.NativeLog(dir, 1 << 20, false);
    log.open(7);
    expect(() => log.append(new Uint8Array(32), new Float64Array(1), new Uint8Array(4) as unknown as Uint32Array)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => log.pinReads(new Float32Array(4) as unknown as Float64Array, new Uint8Array(64))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const u8 = new Uint8Array(8) as unknown as Uint32Array;
    expect(() => native.buildSegment(dir, 's.seg', 1, 64, 100, u8, Uint32Array.of(1), Uint32Array.of(1), Float64Array.of(64))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => native.mergeSegments(dir, 'm.seg', 1, 64, 100, [log as never])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    log.close();
  });

  it('refuses an entry position that is not an integer below 2^48, and builds from arrays it reads in place', async () => {
    const dir = tempDir();
    const key = [Uint32Array.of(1, 1), Uint32Array.of(2, 2), Uint32Array.of(1, 2)] as const;
    for (const v of [...bad, 2 ** 48]) {
      await expect(native.buildSegment(dir, 's.seg', 1, 64, 1000, ...key, Float64Array.of(64, v)), String(v)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/entry position .* is not an integer from 0 to 2\^48-1/),
      });
    }
    await native.buildSegment(dir, 's.seg', 1, 64, 1000, ...key, Float64Array.of(64, 200));
    const seg = new native.NativeSegment(`${dir}/s.seg`, new Float64Array(4 + 512));
    const out = new Float64Array(8);
    expect(seg.range(1, 2, 0, 10, out)).toBe(4);
    expect(Array.from(out.subarray(0, 4))).toEqual([1, 64, 2, 200]);
    seg.close();
  });
});
