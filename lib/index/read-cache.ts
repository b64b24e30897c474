/**
 * The JS engine's read caches under the memory budget (the `readCaches` part): the index files'
 * pages and Bloom filters a JS reader keeps once read and CRC-checked (js-segments.ts,
 * js-directory-reader.ts), which the native engine reads from the files' mappings instead.
 *
 * Invariant: `bytes` is the sum of what every open reader of the store keeps, and never exceeds
 * `limit`. A reader keeps a page or filter only if take() grants its bytes, and gives them back
 * when it closes (a merge closes its inputs). What is refused is read from the file again when
 * needed (a filter refused is not probed: the lookup searches the segment's pages), so a full
 * cache makes lookups slower, never wrong. First come, first kept: the pages every lookup
 * touches (filters, internal pages) are read first.
 */
export class ReadCacheBudget {
  private held = 0;

  constructor(readonly limit: number) {}

  /** Bytes kept now by the readers sharing this budget. */
  get bytes(): number {
    return this.held;
  }

  /** Grants `n` bytes if they fit in what is left. */
  take(n: number): boolean {
    if (this.held + n > this.limit) return false;
    this.held += n;
    return true;
  }

  /** Gives back bytes granted by take(). */
  give(n: number): void {
    this.held = Math.max(0, this.held - n);
  }
}

/** For tools that read index files outside a store (verify): no budget to share. */
export const UNBOUNDED_READ_CACHE = (): ReadCacheBudget => new ReadCacheBudget(Number.POSITIVE_INFINITY);
