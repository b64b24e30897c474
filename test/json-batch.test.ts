import { describe, expect, it, vi } from 'vitest';
import { JsonBatch } from '../lib/format/json-batch.js';
import { CorruptionError, type RecordedEvent } from '../lib/index.js';

/** Payload texts laid out in one buffer between filler bytes, as frames hold them. */
function layout(texts: string[]): { buf: Buffer; starts: number[]; lens: number[] } {
  const parts: Buffer[] = [];
  const starts: number[] = [];
  const lens: number[] = [];
  let off = 0;
  for (const t of texts) {
    parts.push(Buffer.alloc(7, 0x7b)); // '{' filler: a copy that strays past a payload breaks the parse
    off += 7;
    const b = Buffer.from(t);
    starts.push(off);
    lens.push(b.length);
    parts.push(b);
    off += b.length;
  }
  return { buf: Buffer.concat(parts), starts, lens };
}

function blank(position: number): RecordedEvent {
  return { streamId: 's', version: position, type: 'T', data: undefined, metadata: undefined, id: 'x', timestamp: 0, position };
}

/** Adds every text as an event's data (odd indexes as the previous event's metadata) and flushes. */
function parseAll(batch: JsonBatch, texts: string[]): RecordedEvent[] {
  const { buf, starts, lens } = layout(texts);
  const events: RecordedEvent[] = [];
  texts.forEach((_, k) => {
    if (k % 2 === 0) events.push(blank(1000 + k));
    batch.add(events[events.length - 1] as RecordedEvent, k % 2 === 1, buf, starts[k] as number, lens[k] as number, 1000 + k);
  });
  batch.flush();
  return events;
}

const VALUES: unknown[] = [
  { orderId: 'order-1', amount: 12.5, tags: ['a', 'b'], nested: { deep: [1, { x: null }] } },
  'plain string',
  'é, 漢字 and 🎉',
  42,
  -0.5e-7,
  true,
  false,
  null,
  [],
  {},
  { q: 'quote " and backslash \\ and newline \n' },
  { big: 'x'.repeat(20_000) }, // parsed alone: longer than the gathering bound
  [1, [2, [3]]],
];

describe('JsonBatch', () => {
  it('gives every payload the value JSON.parse gives it alone, across groups and buffers', () => {
    const batch = new JsonBatch();
    const texts = VALUES.map((v) => JSON.stringify(v));
    const events = parseAll(batch, texts);
    events.forEach((e, i) => {
      expect(e.data).toEqual(VALUES[2 * i]);
      if (2 * i + 1 < VALUES.length) expect(e.metadata).toEqual(VALUES[2 * i + 1]);
    });
    // Small payloads of one buffer take one parse.
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const ten = Array.from({ length: 10 }, (_, i) => JSON.stringify({ i }));
      expect(parseAll(batch, ten).map((e) => e.data)).toEqual([0, 2, 4, 6, 8].map((i) => ({ i })));
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
    // More text than one group holds: several parses, same values.
    const many = Array.from({ length: 600 }, (_, i) => JSON.stringify({ i, pad: 'p'.repeat(i % 1000) }));
    const got = parseAll(batch, many);
    expect(got.map((e) => e.data)).toEqual(many.filter((_, k) => k % 2 === 0).map((t) => JSON.parse(t)));
    expect(got.map((e) => e.metadata)).toEqual(many.filter((_, k) => k % 2 === 1).map((t) => JSON.parse(t)));
    // A payload from another buffer closes the group of the first.
    const a = layout(['{"a":1}', '{"a":2}']);
    const b = layout(['{"b":1}']);
    const ea = [blank(1), blank(2)];
    const eb = blank(3);
    batch.add(ea[0] as RecordedEvent, false, a.buf, a.starts[0] as number, a.lens[0] as number, 1);
    batch.add(ea[1] as RecordedEvent, false, a.buf, a.starts[1] as number, a.lens[1] as number, 2);
    batch.add(eb, false, b.buf, b.starts[0] as number, b.lens[0] as number, 3);
    expect(ea.map((e) => e.data)).toEqual([{ a: 1 }, { a: 2 }]);
    batch.flush();
    expect(eb.data).toEqual({ b: 1 });
  });

  it('keeps each gathered text small enough for V8 to allocate it as an ordinary string', () => {
    // A text of 128 KiB or more is allocated pages of its own, fresh on every read (slower than no
    // batching at all on the bench VM): groups stay at 32 KiB of UTF-8, 64 KiB even as UTF-16.
    const batch = new JsonBatch();
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const texts = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ i, note: 'é'.repeat(60) }));
      const events = parseAll(batch, texts);
      expect(events.map((e) => e.data)).toEqual(texts.filter((_, k) => k % 2 === 0).map((t) => JSON.parse(t)));
      const lengths = parse.mock.calls.map((c) => (c[0] as string).length);
      expect(lengths.length).toBeGreaterThan(8);
      for (const n of lengths) expect(n).toBeLessThanOrEqual(32 * 1024 + 2);
    } finally {
      parse.mockRestore();
    }
  });

  it('names the record whose payload does not parse, also when the gathered text would', () => {
    const batch = new JsonBatch();
    const broken = (texts: string[]) => {
      try {
        parseAll(batch, texts);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    // One text that does not parse: the gathered text fails too.
    let err = broken(['{"a":1}', '{"a":', '{"a":3}']);
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as Error).message).toContain('record at position 1001');
    // Two that do not parse alone but make one value together: the count gives them away.
    err = broken(['{"a":1}', '[1', '2]', '{"a":4}']);
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as Error).message).toContain('record at position 1001');
    // The batch is left empty and usable.
    expect(parseAll(batch, ['{"ok":true}'])[0]?.data).toEqual({ ok: true });
  });
});
