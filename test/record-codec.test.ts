/**
 * The compact event body (lib/format/record-codec.ts) on its own: every field round-trips across the
 * varint size steps, sizes agree with frameSize to the byte, and a body damaged behind a valid CRC
 * decodes to CorruptionError or to some event, never to another exception.
 */
import { describe, expect, it, vi } from 'vitest';
import { CorruptionError } from '../lib/errors.js';
import { derivedUuid } from '../lib/format/event-id.js';
import { FRAME_HEADER_SIZE } from '../lib/format/layout.js';
import { encodeTransaction, frameSize, type NormalizedEvent, type TransactionItem } from '../lib/format/record-codec.js';
import { decodeEvent, decodeIndexFields } from '../lib/format/record-decode.js';

const UUID = '6f9619ff-8b86-4d01-b42d-00c04fc964ff';
const IDENTITY = 0x2a5_5a5a;

function item(streamId: string, events: NormalizedEvent[], firstVersion: number, commandId?: string): TransactionItem {
  const it: TransactionItem = { streamId, events, firstVersion, prevPosition: 0 };
  if (commandId !== undefined) it.commandId = commandId;
  return it;
}

describe('compact event body', () => {
  it.each([false, true])(
    'round-trips every field across the varint size steps and matches frameSize to the byte (derived ids: %s)',
    (deriveIds) => {
      const lengths = [0, 1, 127, 128, 16_383, 16_384, 70_000];
      const items: TransactionItem[] = [];
      for (const [k, n] of lengths.entries()) {
        items.push(
          item(
            `s-${k}`,
            [{ type: 'T', id: undefined, data: new Uint8Array(n).fill(k), metadata: JSON.stringify({ n }) }],
            1 + k * 1000,
            `cmd-${k}`,
          ),
          item(
            'ünïcode-stream',
            [
              {
                type: 'x'.repeat(Math.min(n, 200)) || 't',
                id: 'i'.repeat(Math.min(n, 300)) || 'i',
                data: JSON.stringify('é'.repeat(n)),
                metadata: undefined,
              },
            ],
            0xffff_ffff - k,
          ),
        );
      }
      items.push(item('bare', [{ type: 'T', id: UUID, data: undefined, metadata: new Uint8Array([9]) }], 5));
      const ts = 0xffff_ffff_fff; // 44 bits of milliseconds: the u48 field's high half is in use
      const tx = encodeTransaction(items, ts, new Map(), deriveIds);
      tx.place(1 << 40);
      let f = 0;
      for (const it of items) {
        for (const [i, e] of it.events.entries()) {
          const off = tx.frameOffsets[f++] as number;
          // frameSize is the size without a derived id: the most an event can take.
          const derived = deriveIds && e.id === undefined;
          expect(tx.buf.readUInt32LE(off)).toBe(frameSize(it.streamId, it.commandId, e) - (derived ? 16 : 0));
          const got = decodeEvent(tx.buf, off, 4096 + off, IDENTITY);
          expect(got).toMatchObject({
            streamId: it.streamId,
            version: it.firstVersion + i,
            type: e.type,
            timestamp: ts,
            position: 4096 + off,
          });
          expect(got.commandId).toBe(it.commandId);
          if (e.id !== undefined) expect(got.id).toBe(e.id);
          else if (derived) expect(got.id).toBe(derivedUuid(ts, IDENTITY, 4096 + off));
          else expect(got.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
          expect(got.data).toEqual(typeof e.data === 'string' ? JSON.parse(e.data) : e.data);
          expect(got.metadata).toEqual(typeof e.metadata === 'string' ? JSON.parse(e.metadata) : e.metadata);
          expect(decodeIndexFields(tx.buf, off, 0)).toEqual({
            streamId: it.streamId,
            version: it.firstVersion + i,
            commandId: it.commandId,
            type: e.type,
          });
        }
      }
    },
  );

  it('chains back-pointers through a stream that appears twice in one transaction', () => {
    const e: NormalizedEvent = { type: 'T', id: undefined, data: '1', metadata: undefined };
    const tx = encodeTransaction([item('a', [e, e], 1), item('b', [e], 1), item('a', [e], 3)], 0, new Map([['a', 100]]), true);
    tx.place(5000);
    const back = (k: number) => tx.buf.readUIntLE((tx.frameOffsets[k] as number) + FRAME_HEADER_SIZE, 6);
    expect([back(0), back(1), back(2), back(3)]).toEqual([
      100,
      5000 + (tx.frameOffsets[0] as number),
      0,
      5000 + (tx.frameOffsets[1] as number),
    ]);
  });

  it('writes every byte of its frames: the same bytes over a dirty buffer as over a zeroed one', () => {
    // The encoder takes its buffer from Node's pool unzeroed, so a byte it skipped would carry
    // whatever was there before into the CRC and onto disk.
    const events: NormalizedEvent[] = [
      { type: 'OrderPlaced', id: undefined, data: JSON.stringify({ a: 'ü'.repeat(40) }), metadata: '{"m":1}' },
      { type: 'Tÿpe', id: UUID, data: new Uint8Array([1, 2, 3]), metadata: undefined },
      { type: 'x'.repeat(40), id: 'free-form-id-é', data: undefined, metadata: new Uint8Array(0) },
    ];
    const encode = (fill: number) => {
      const spy = vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((n: number) => Buffer.alloc(n, fill));
      try {
        const tx = encodeTransaction([item('strëam', events, 1, 'cmd-ü'), item('s-2', events.slice(0, 1), 9)], 1234, new Map(), true);
        tx.place(4096);
        return tx.buf;
      } finally {
        spy.mockRestore();
      }
    };
    const clean = encode(0);
    expect(encode(0xab).equals(clean)).toBe(true);
    expect(encode(0xff).equals(clean)).toBe(true);
  });

  it('encodes a JSON payload the same whether validation counted its bytes or not', () => {
    const data = JSON.stringify({ note: 'ñ'.repeat(20), n: 1 });
    const plain: NormalizedEvent = { type: 'T', id: undefined, data, metadata: data };
    const counted: NormalizedEvent = { ...plain, dataBytes: Buffer.byteLength(data), metadataBytes: Buffer.byteLength(data) };
    const a = encodeTransaction([item('s', [plain], 1)], 0, new Map(), true).buf;
    const b = encodeTransaction([item('s', [counted], 1)], 0, new Map(), true).buf;
    expect(b.equals(a)).toBe(true);
    expect(decodeEvent(b, 0, 64, IDENTITY).data).toEqual(JSON.parse(data));
  });

  it('decodes damaged bodies to CorruptionError or to an event, never to another exception', () => {
    let seed = 1;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const events: NormalizedEvent[] = [
      { type: 'OrderPlaced', id: undefined, data: JSON.stringify({ a: [1, 2, { b: 'c' }] }), metadata: JSON.stringify({ user: 'ada' }) },
      { type: 'Bytes', id: 'custom-id', data: new Uint8Array(300).fill(3), metadata: undefined },
    ];
    const tx = encodeTransaction([item('order-1', events, 7, 'cmd-1')], Date.now(), new Map(), true);
    let corrupt = 0;
    for (let round = 0; round < 4000; round++) {
      const k = rand(2);
      const off = tx.frameOffsets[k] as number;
      const len = tx.buf.readUInt32LE(off);
      const frame = Buffer.from(tx.buf.subarray(off, off + len));
      for (let flips = 1 + rand(3); flips > 0; flips--) {
        const at = FRAME_HEADER_SIZE + rand(Math.min(len - FRAME_HEADER_SIZE, 48));
        frame[at] = rand(256);
      }
      try {
        decodeEvent(frame, 0, 64, IDENTITY);
        decodeIndexFields(frame, 0, 64);
      } catch (err) {
        expect(err).toBeInstanceOf(CorruptionError);
        corrupt++;
      }
    }
    expect(corrupt).toBeGreaterThan(500); // the rest hit fields any value of which decodes (timestamp, back-pointer, text)
  });
});

describe('derived event ids', () => {
  it('are version 7 UUIDs of the timestamp, the store identity and the position', () => {
    const id = derivedUuid(0x0123_4567_89ab, 0x3ff_ffff, 0xfedc_ba98_7654);
    expect(id).toBe('01234567-89ab-7fff-bfff-fedcba987654');
    expect(derivedUuid(0, 1, 64)).toBe('00000000-0000-7000-8001-000000000040');
    // Every identity bit lands somewhere: 26 single-bit identities give 26 different ids.
    const ids = new Set(Array.from({ length: 26 }, (_, b) => derivedUuid(5, 2 ** b, 64)));
    expect(ids.size).toBe(26);
    for (const x of ids) expect(x).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('refuses a body that says its id is both stored and derived', () => {
    const tx = encodeTransaction([item('s', [{ type: 'T', id: undefined, data: '1', metadata: undefined }], 1)], 0, new Map(), false);
    const flagsAt = FRAME_HEADER_SIZE + 16;
    tx.buf[flagsAt] = (tx.buf[flagsAt] as number) | 64;
    expect(() => decodeEvent(tx.buf, 0, 64, IDENTITY)).toThrow(CorruptionError);
  });

  it('refuses a derived id where the store has no identity', () => {
    const tx = encodeTransaction([item('s', [{ type: 'T', id: undefined, data: '1', metadata: undefined }], 1)], 0, new Map(), true);
    expect(() => decodeEvent(tx.buf, 0, 64, 0)).toThrow(CorruptionError);
    expect(decodeEvent(tx.buf, 0, 64, IDENTITY).id).toBe(derivedUuid(0, IDENTITY, 64));
  });
});
