/**
 * UTF-8 text to and from Buffers for the record codec, which handles a few short strings per event
 * (stream id, type, command id) and one longer payload.
 *
 * Short UTF-8 and Latin-1 decodes straight through Buffer's own slice methods. `toString` first
 * normalises its arguments and looks up the encoding, which was a third of the cost of decoding a
 * stream id or payload of a few dozen bytes. Those methods are undocumented (though in every Node
 * release): where one is missing, `toString` does the work.
 */
type Decoder = (buf: Buffer, start: number, end: number) => string;
interface SliceMethods {
  utf8Slice?: (start: number, end: number) => string;
  latin1Slice?: (start: number, end: number) => string;
}
const proto = Buffer.prototype as unknown as SliceMethods;

export const utf8Text: Decoder =
  typeof proto.utf8Slice === 'function'
    ? (buf, start, end) => (buf as unknown as Required<SliceMethods>).utf8Slice(start, end)
    : (buf, start, end) => buf.toString('utf8', start, end);

export const latin1Text: Decoder =
  typeof proto.latin1Slice === 'function'
    ? (buf, start, end) => (buf as unknown as Required<SliceMethods>).latin1Slice(start, end)
    : (buf, start, end) => buf.toString('latin1', start, end);

/**
 * Strings up to this many UTF-16 units are measured and, when ASCII, copied in JS: a loop over a
 * dozen characters costs less than the call into C++ that Buffer.byteLength and buf.write make
 * (a fixed cost per call; a stream id, type and command id are measured and written once per
 * event). Longer strings (payloads) go to C++, which is faster per byte.
 */
const SHORT = 32;

interface WriteMethods {
  utf8Write?: (text: string, offset: number, length: number) => number;
}
const writeProto = Buffer.prototype as unknown as WriteMethods;

/** Bytes `text` takes in UTF-8. */
export function utf8Length(text: string): number {
  if (text.length > SHORT) return Buffer.byteLength(text);
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text);
  return text.length;
}

const rawUtf8Write: (buf: Buffer, off: number, text: string, bytes: number) => number =
  typeof writeProto.utf8Write === 'function'
    ? (buf, off, text, bytes) => (buf as unknown as Required<WriteMethods>).utf8Write(text, off, bytes)
    : (buf, off, text, bytes) => buf.write(text, off, bytes, 'utf8');

/**
 * Writes `text`, which takes `bytes` bytes of UTF-8 (utf8Length), at `off`; returns the offset after
 * it. The caller has made room: `buf` holds at least off + bytes.
 */
export function writeUtf8(buf: Buffer, off: number, text: string, bytes: number): number {
  // As many bytes as units: all ASCII, one byte per unit.
  if (bytes === text.length && bytes <= SHORT) {
    for (let i = 0; i < bytes; i++) buf[off + i] = text.charCodeAt(i);
    return off + bytes;
  }
  return off + rawUtf8Write(buf, off, text, bytes);
}
