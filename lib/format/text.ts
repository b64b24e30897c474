/**
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
