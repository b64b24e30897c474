/**
 * The streams written most recently (by this process, or seen by a follower), newest first: a
 * ring of RECENT_STREAMS ids. Writes are O(1) and keep duplicates; a read drops them. Bounded:
 * it holds at most RECENT_STREAMS ids whatever the workload.
 */
const RECENT_STREAMS = 1000;

export class RecentStreams {
  private readonly ring: string[] = [];
  private next = 0;

  note(streamId: string): void {
    this.ring[this.next] = streamId;
    this.next = (this.next + 1) % RECENT_STREAMS;
  }

  /** Up to `limit` distinct streams, newest first. */
  newest(limit: number): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    for (let k = 1; k <= this.ring.length && out.length < limit; k++) {
      const id = this.ring[(this.next - k + RECENT_STREAMS) % RECENT_STREAMS];
      if (id !== undefined && !seen.has(id)) {
        seen.add(id);
        out.push(id);
      }
    }
    return out;
  }
}
