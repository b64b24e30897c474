/**
 * Keys remembered for a retention period after they were added: the recent-command dictionary of
 * the ENode design. Keys are kept in insertion order with one counter per second of insertions, so
 * eviction drops the oldest keys in O(evicted) without a timestamp per key (a Set entry per key is
 * all the memory it takes).
 */
export class RecentKeys {
  private readonly keys = new Set<string>();
  private readonly buckets: { time: number; count: number }[] = [];

  add(key: string, now: number): void {
    if (this.keys.has(key)) return;
    this.keys.add(key);
    const last = this.buckets[this.buckets.length - 1];
    if (last && now - last.time < 1000) last.count++;
    else this.buckets.push({ time: now, count: 1 });
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Forgets the keys added before `cutoff` (to the second). */
  evictBefore(cutoff: number): void {
    let n = 0;
    while (this.buckets.length > 0 && (this.buckets[0] as { time: number }).time < cutoff)
      n += (this.buckets.shift() as { count: number }).count;
    for (const k of this.keys) {
      if (n-- <= 0) break;
      this.keys.delete(k);
    }
  }

  get size(): number {
    return this.keys.size;
  }
}
