/**
 * The caches of stream rules a scavenge keeps while it runs: the store's side (scavenge.ts, what
 * it answered), each pass's (scavenge-pass.ts in a worker or in-thread, scavenge-native.ts), and
 * the survivors it remembers (scavenge-survivors.ts). They hold stream ids, which may be long
 * (limits.maxStreamIdBytes, up to 65535 bytes), so each is bounded twice: at most `entries` ids
 * and at most `chars` characters of ids (a cache of 100,000 ids of a thousand characters would
 * take a hundred megabytes). A cache that would pass either bound is cleared, and what it forgot
 * is asked again (the store's side moves PassRequest.rulesEpoch on so the passes forget theirs
 * too): slower, never inexact.
 *
 * The scavenge is not in the memory budget's parts (memory-budget.ts): each of its caches holds at
 * most MAX_CACHED_RULE_CHARS characters of ids (a byte each for Latin-1 ids, two otherwise), once
 * in the store's side, once in the pass, the native pass's table holding its ids' bytes twice more
 * (by key and packed for the addon).
 */

/** Stream ids whose rules a cache keeps at once. */
export const MAX_CACHED_RULES = 100_000;
/** Characters of stream ids a cache keeps at once: 100,000 ids of about 40 characters. */
export const MAX_CACHED_RULE_CHARS = 4 * 1024 * 1024;

export interface RuleCacheBounds {
  entries: number;
  chars: number;
}

export const DEFAULT_RULE_CACHE_BOUNDS: Readonly<RuleCacheBounds> = { entries: MAX_CACHED_RULES, chars: MAX_CACHED_RULE_CHARS };

/** A Map from stream id to `V` within `bounds` (read at each check: a test may lower them). */
export class RuleCache<V> {
  private readonly map = new Map<string, V>();
  private idChars = 0;

  constructor(private readonly bounds: Readonly<RuleCacheBounds> = DEFAULT_RULE_CACHE_BOUNDS) {}

  get size(): number {
    return this.map.size;
  }

  /** Characters of the ids held. */
  get chars(): number {
    return this.idChars;
  }

  get(id: string): V | undefined {
    return this.map.get(id);
  }

  has(id: string): boolean {
    return this.map.has(id);
  }

  /** Whether `count` more ids of `chars` characters in all fit beside those held. */
  fits(count: number, chars: number): boolean {
    return this.map.size + count <= this.bounds.entries && this.idChars + chars <= this.bounds.chars;
  }

  /** Clears the cache unless `ids` fit beside what it holds; true when it cleared. */
  makeRoom(ids: readonly string[]): boolean {
    let chars = 0;
    for (const id of ids) chars += id.length;
    if (this.fits(ids.length, chars)) return false;
    this.clear();
    return true;
  }

  /** Sets the id's value; the caller made room (makeRoom or fits). */
  set(id: string, value: V): void {
    if (!this.map.has(id)) this.idChars += id.length;
    this.map.set(id, value);
  }

  clear(): void {
    this.map.clear();
    this.idChars = 0;
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.map.entries();
  }
}
