import { describe, expect, it } from 'vitest';
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
