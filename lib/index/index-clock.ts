/**
 * The clock of the in-memory dictionaries: retention, eviction and memtable ages, in milliseconds
 * that never go backwards. Date.now() can: a wall-clock step back would make keys look older than
 * the memtable they were added to, and whether a command missing from the recent-command set may
 * still sit in a memtable is decided by comparing those times (RecentKeys.keptSince). Timestamps
 * stored in events stay wall-clock time. An object, so that tests can move the clock.
 */
const origin = performance.timeOrigin; // a getter that costs as much as the clock read

export const indexClock = {
  now(): number {
    return origin + performance.now();
  },
};
