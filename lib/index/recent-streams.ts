/**
 * The streams written most recently (by this process, or seen by a follower), newest first: a
 * ring of RECENT_STREAMS ids. Writes keep duplicates (a read drops them) and cost O(1), or a walk
 * of the ring once ids are long enough to fill MAX_CHARS. Bounded: it holds at most RECENT_STREAMS
 * ids, and at most MAX_CHARS characters of them (ids may be up to 64 KiB long: the oldest go
 * first), whatever the workload.
 */
const RECENT_STREAMS = 1000;
const MAX_CHARS = 1 << 20;

export class RecentStreams {
  private readonly ring: (string | undefined)[] = [];
  private next = 0;
  /** Characters of the ids in the ring. */
  private chars = 0;

  note(streamId: string): void {
    this.chars += streamId.length - (this.ring[this.next]?.length ?? 0);
    this.ring[this.next] = streamId;
    this.next = (this.next + 1) % RECENT_STREAMS;
    // The oldest first: from the slot the next note overwrites, toward the one just written.
    for (let k = 0; this.chars > MAX_CHARS && k < RECENT_STREAMS; k++) {
      const at = (this.next + k) % RECENT_STREAMS;
      this.chars -= this.ring[at]?.length ?? 0;
      this.ring[at] = undefined;
    }
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
