import { describe, expect, it, vi } from 'vitest';
import { cachedString } from '../lib/format/string-cache.js';

describe('cachedString (decoded ids and types by their bytes)', () => {
  it('returns exactly the decoded text, whatever shares a slot', () => {
    const words = ['order-1', 'order-2', 'OrderPlaced', 'é-ü-ß', '', 'x'.repeat(64), 'y'.repeat(65), '注文-42', 'order-10', 'order-01'];
    // Many distinct strings of equal length and edges force slot collisions.
    for (let i = 0; i < 500; i++) words.push(`s-${i.toString(36).padStart(4, '0')}`);
    const buf = Buffer.from(words.join('|'));
    for (let round = 0; round < 3; round++) {
      let off = 0;
      for (const w of words) {
        const len = Buffer.byteLength(w);
        expect(cachedString(buf, off, off + len)).toBe(w);
        off += len + 1;
      }
    }
  });
});

describe('utf8Text and latin1Text (Buffer decodes without toString)', () => {
  const bytes = Buffer.concat([Buffer.from('order-42 é 注文 😀'), Buffer.from([0xff, 0xc3, 0x28, 0xe2, 0x82]), Buffer.from('tail')]);
  const cases: [number, number][] = [];
  for (let a = 0; a < bytes.length; a += 3) for (let b = a; b <= bytes.length; b += 5) cases.push([a, b]);

  it('decodes exactly as toString does, malformed UTF-8 included', async () => {
    const { utf8Text, latin1Text } = await import('../lib/format/text.js');
    for (const [a, b] of cases) {
      expect(utf8Text(bytes, a, b)).toBe(bytes.toString('utf8', a, b));
      expect(latin1Text(bytes, a, b)).toBe(bytes.toString('latin1', a, b));
    }
  });

  it('falls back to toString where Buffer lacks the slice methods', async () => {
    const proto = Buffer.prototype as unknown as Record<string, unknown>;
    const saved = { utf8Slice: proto.utf8Slice, latin1Slice: proto.latin1Slice };
    delete proto.utf8Slice;
    delete proto.latin1Slice;
    vi.resetModules();
    // The module picks its decoders when loaded; toString itself needs the methods back to run.
    const loaded = import('../lib/format/text.js');
    const { utf8Text, latin1Text } = await loaded.finally(() => Object.assign(proto, saved));
    expect(utf8Text.toString()).toContain('toString');
    for (const [a, b] of cases) {
      expect(utf8Text(bytes, a, b)).toBe(bytes.toString('utf8', a, b));
      expect(latin1Text(bytes, a, b)).toBe(bytes.toString('latin1', a, b));
    }
  });
});

describe('u16 and u32 (little-endian reads of decoded frames)', () => {
  it('read as Buffer.readUInt16LE/readUInt32LE do, high bits unsigned', async () => {
    const { u16, u32 } = await import('../lib/format/le-bytes.js');
    const buf = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x80, 0x01, 0x02, 0x03, 0xfe, 0x7f, 0x80, 0x00]);
    for (let i = 0; i + 4 <= buf.length; i++) {
      expect(u16(buf, i)).toBe(buf.readUInt16LE(i));
      expect(u32(buf, i)).toBe(buf.readUInt32LE(i));
    }
    expect(u32(buf, 0)).toBe(0xffffffff);
  });
});
