/**
 * Which pages of an immutable index file (segment or stream directory) have passed their CRC check,
 * a bit per page. A JS reader checks a page the first time it reads it and trusts later reads of the
 * same page, as the native readers trust their mapping once a page passed (native/index_segment.cc,
 * native/directory_reader.cc): the engines then catch the same damage, the first read of a page
 * that went bad before it, and a lookup that reads a leaf it read before does not pay the check
 * again (in JS, computing a page's CRC-32C costs several times its pread).
 *
 * Invariant: a set bit means that page, read from this file, once matched its CRC. The files are
 * never written after they are renamed into place, so that holds for every later read.
 */
export class VerifiedPages {
  private readonly bits: Uint8Array;

  constructor(pageCount: number) {
    this.bits = new Uint8Array((pageCount + 7) >>> 3);
  }

  has(page: number): boolean {
    return ((this.bits[page >>> 3] as number) & (1 << (page & 7))) !== 0;
  }

  add(page: number): void {
    this.bits[page >>> 3] = (this.bits[page >>> 3] as number) | (1 << (page & 7));
  }
}
