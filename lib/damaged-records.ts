/**
 * The damaged records a store has come across since it opened: those the tail's recovery kept
 * because valid records follow them, and those the index's own scans skipped (the replay at open, a
 * segment's rebuild). Each is reported once as a process warning and listed in
 * `stats().recovery.damaged`; every read of one still fails with CORRUPTION. Bounded: a store with
 * more damage than this lists the first ones and counts the rest.
 */
const MAX_LISTED = 1000;

export class DamagedRecords {
  private readonly positions = new Set<number>();
  private unlisted = 0;

  constructor(private readonly warn: (message: string) => void) {}

  /** `effect`: what the store does about it (a follower stops before it instead). */
  note(position: number, reason: string, effect = 'it is skipped by the index and refused when read'): void {
    if (this.positions.has(position)) return;
    if (this.positions.size >= MAX_LISTED) {
      this.unlisted++;
      return;
    }
    this.positions.add(position);
    this.warn(`the record at position ${position} is damaged (${reason}); ${effect}`);
  }

  /** The positions noted, ascending, and how many more were not listed. */
  list(): { damaged: number[]; damagedUnlisted: number } {
    return { damaged: [...this.positions].sort((a, b) => a - b), damagedUnlisted: this.unlisted };
  }
}
