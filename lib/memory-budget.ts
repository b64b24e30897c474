/**
 * The memory budget (StoreOptions.memoryBudget): one number of bytes that bounds what a store holds
 * in memory, split among the parts that grow with the workload.
 *
 * The rule (docs/api.md, "Memory budget"):
 * - An expert option given explicitly (maxRecentStreams, maxRecentCommands, indexMemtableEntries)
 *   takes what it asks, priced by its per-entry estimate; together they must fit in the budget or
 *   the options are refused (INVALID_ARGUMENT).
 * - The parts not set explicitly share what is left in proportion to their WEIGHTS, each part's
 *   entry limit being its bytes over its per-entry estimate, capped at the part's former fixed
 *   default (a larger dictionary or memtable was not measured to help) and at least MIN_ENTRIES.
 * - Memtables are priced MEMTABLES_HELD times: the active one fills while frozen ones are built
 *   into segments, and appends wait while MAX_FROZEN_MEMTABLES of them wait for their build; and
 *   once more for the arrays a build fills.
 *
 * - The JS engine's read caches (index pages and Bloom filters it keeps once read) are a part too,
 *   readCaches, held to its share by index/read-cache.ts. The native engine reads them from the
 *   index files' mappings, file-backed pages the kernel may drop, and gives that part nothing.
 *
 * What it does not cover: appends waiting for their write (bounded by limits.maxPendingBytes, freed
 * at each flush) and the runtime itself. Subscriptions pull from the log and buffer nothing for a
 * slow consumer (subscription.ts). A stream directory rebuild, patch or listing from the log holds
 * at most the memtables' limit in entries of its streams (index/directory-jobs.ts); a scavenge's
 * rule caches are bounded apart, in ids and in their characters (scavenge-rule-cache.ts).
 */
import { describeValue } from './arg-checks.js';
import { InvalidArgumentError } from './errors.js';
import { FILTER_BITS_PER_KEY, FILTER_KEYS_PER_ENTRY } from './index/key-filter.js';
import type { MemoryPartStats, MemoryStats } from './types.js';

const MiB = 1 << 20;
/** What a dictionary's absence filter costs per exact entry. */
const FILTER_BYTES_PER_ENTRY = (FILTER_KEYS_PER_ENTRY * FILTER_BITS_PER_KEY) / 8;

/** The smallest budget: below it every part would be held to a few thousand entries, and each
 * memtable would be built into a segment every few hundred appends. */
export const MIN_MEMORY_BUDGET = 4 * MiB;
/** The largest budget accepted (1 TiB): a guard against a value in the wrong unit. */
export const MAX_MEMORY_BUDGET = 2 ** 40;
/** The default, sized for embedding: the largest budget measured to keep the e2e workload's
 * anonymous memory within about 1.5x the leanest peer's (SQLite or lmdb-js); what larger budgets
 * buy, docs/benchmarks.md ("Memory budget"). */
export const DEFAULT_MEMORY_BUDGET = 24 * MiB;

/** Full memtables that may wait for their segment build before appends wait (append-committer.ts):
 * a build takes a small part of the time its memtable took to fill, so two waiting means builds
 * are behind or fail. With the active memtable, MEMTABLES_HELD memtables at most are in memory. */
export const MAX_FROZEN_MEMTABLES = 2;
const MEMTABLES_HELD = MAX_FROZEN_MEMTABLES + 1;

export type MemoryPartName = 'latestVersions' | 'recentCommands' | 'memtables' | 'metadataCache' | 'readCaches';

/**
 * Bytes per entry of each part, from bench/memory-entries.ts (growth of V8's heap plus array
 * buffers after a full GC, over half a million entries shaped like the e2e workload's: stream ids
 * of a dozen characters, UUID command ids, four index entries per event), rounded up with a margin
 * for longer ids and for tables between two doublings. Estimates, not exact sizes: a stream id of
 * a hundred characters costs about that many bytes more.
 */
export const BYTES_PER_ENTRY: Readonly<Record<MemoryPartName, number>> = {
  /** The id string, four number columns and the id table's slot; and FILTER_KEYS_PER_ENTRY keys of
   * its absence filter (index/key-filter.ts) at FILTER_BITS_PER_KEY. */
  latestVersions: 96 + FILTER_BYTES_PER_ENTRY,
  /** A 48-bit key in an open-addressed table at up to 0.7 load, and its place in the FIFO ring;
   * and its absence filter's keys, as above. */
  recentCommands: 48 + FILTER_BYTES_PER_ENTRY,
  /** Per index entry (stream, command, category or type) of one memtable. */
  memtables: 24,
  /** A Map entry: the stream id and its metadata object. */
  metadataCache: 256,
  /** The JS engine's index pages and Bloom filters kept once read (index/read-cache.ts): its
   * entries are bytes. */
  readCaches: 1,
};

/** The id length the per-entry estimates assume (BYTES_PER_ENTRY: "ids of a dozen characters"). */
export const ASSUMED_ID_CHARS = 12;

/**
 * Bytes an id string held by a part costs beyond its per-entry estimate: one per character past
 * ASSUMED_ID_CHARS (V8 keeps ids of Latin-1 characters at a byte each; others at two, which this
 * counts once: ids are mostly ASCII). The dictionaries and memtables count them against their
 * limit, so a workload of long ids is held to the budget too, in fewer entries.
 */
export function extraIdBytes(id: string): number {
  return id.length > ASSUMED_ID_CHARS ? id.length - ASSUMED_ID_CHARS : 0;
}

/** Shares of what the explicit options leave. The memtables take the most: their size sets how
 * many segment builds and merges every append pays for. The dictionaries' absence filters
 * (index/key-filter.ts) tell new streams and command ids from dropped ones, so the exact
 * dictionaries need hold only the working set (the e2e bench's 10,000 hot streams at a fraction
 * of the latest-version share): at 24 MiB, moving half the latest-version share to the memtables
 * measured batched appends and 8 in flight nearer the old defaults, at the same anonymous peak. */
const WEIGHTS: Readonly<Record<MemoryPartName, number>> = {
  latestVersions: 3,
  recentCommands: 4,
  memtables: 11,
  metadataCache: 2,
  /** The JS engine only: the native engine reads index pages and filters from the files'
   * mappings (page cache, not anonymous memory), and this part takes nothing there. */
  readCaches: 2,
};

/** The former fixed defaults: a part never takes more entries than these. */
const MAX_ENTRIES: Readonly<Record<MemoryPartName, number>> = {
  latestVersions: 1_000_000,
  recentCommands: 1_400_000,
  memtables: 1_000_000,
  metadataCache: 100_000,
  /** Above this the JS engine's index files (a few hundred segments of a few MiB) are all kept. */
  readCaches: 256 * MiB,
};

const MIN_ENTRIES = 64;

/** The options that set a part by hand. */
const OPTION_OF: Readonly<Record<Exclude<MemoryPartName, 'metadataCache' | 'readCaches'>, string>> = {
  latestVersions: 'maxRecentStreams',
  recentCommands: 'maxRecentCommands',
  memtables: 'indexMemtableEntries',
};

export interface MemoryPlan {
  budget: number;
  /** Each part's entry limit (memtables: per memtable) and the bytes it may take. */
  parts: Record<MemoryPartName, { limit: number; bytes: number }>;
}

const PARTS: readonly MemoryPartName[] = ['latestVersions', 'recentCommands', 'memtables', 'metadataCache', 'readCaches'];

/** Bytes per entry of the arrays a segment build fills (segment-backend.ts: hi, lo and seq of 4
 * bytes, position of 8), kept between builds (index-jobs.ts) at the size of the largest kind. */
const BUILD_BYTES_PER_ENTRY = 20;

/** Bytes `limit` entries of `part` may take (memtables: MEMTABLES_HELD of them and the build's
 * arrays). */
function bytesOf(part: MemoryPartName, limit: number): number {
  if (part === 'memtables') return limit * (BYTES_PER_ENTRY.memtables * MEMTABLES_HELD + BUILD_BYTES_PER_ENTRY);
  return limit * BYTES_PER_ENTRY[part];
}

function checkBudget(value: unknown): number {
  if (value === undefined) return DEFAULT_MEMORY_BUDGET;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_MEMORY_BUDGET || value > MAX_MEMORY_BUDGET) {
    throw new InvalidArgumentError(
      `memoryBudget must be an integer number of bytes from ${MIN_MEMORY_BUDGET} (4 MiB) to ${MAX_MEMORY_BUDGET} (1 TiB), got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * Splits `budget` (validated here) among the parts; `explicit` holds the expert options given,
 * already checked to be positive integers. `heapReadCaches`: the store reads its index files into
 * memory (the JS engine), so the readCaches part takes its share; otherwise it takes nothing.
 */
export function planMemory(
  budget: unknown,
  explicit: Partial<Record<'latestVersions' | 'recentCommands' | 'memtables', number>>,
  heapReadCaches = false,
): MemoryPlan {
  const total = checkBudget(budget);
  const parts = {} as MemoryPlan['parts'];
  if (!heapReadCaches) parts.readCaches = { limit: 0, bytes: 0 };
  let left = total;
  // Each explicit option takes what it asks.
  for (const [part, limit] of Object.entries(explicit) as [keyof typeof OPTION_OF, number | undefined][]) {
    if (limit === undefined) continue;
    parts[part] = { limit, bytes: bytesOf(part, limit) };
    left -= parts[part].bytes;
  }
  const shared = PARTS.filter((p) => parts[p] === undefined);
  // The parts left to share keep at least MIN_ENTRIES each, so the budget stays a bound.
  if (left < shared.reduce((n, p) => n + bytesOf(p, MIN_ENTRIES), 0)) {
    const given = (Object.keys(OPTION_OF) as (keyof typeof OPTION_OF)[])
      .filter((p) => parts[p] !== undefined)
      .map((p) => {
        const part = p as keyof typeof OPTION_OF;
        return `${OPTION_OF[part]} ${parts[part].limit} (about ${parts[part].bytes} bytes at ${BYTES_PER_ENTRY[part]} per entry${part === 'memtables' ? `, ${MEMTABLES_HELD} memtables and a build's arrays` : ''})`;
      });
    throw new InvalidArgumentError(
      `${given.join(' and ')} leave${given.length === 1 ? 's' : ''} too little of memoryBudget ${total} for the other parts: raise memoryBudget or lower the option`,
    );
  }
  const weights = shared.reduce((n, p) => n + WEIGHTS[p], 0);
  for (const part of shared) {
    const share = (left * WEIGHTS[part]) / weights;
    const fit = Math.floor(share / bytesOf(part, 1));
    const limit = Math.max(MIN_ENTRIES, Math.min(MAX_ENTRIES[part], fit));
    parts[part] = { limit, bytes: bytesOf(part, limit) };
  }
  return { budget: total, parts };
}

/** What stats() reports: each part's entries now, priced by its per-entry estimate plus `extra`
 * (the ids' bytes beyond it: extraIdBytes), against the plan. */
export function memoryStats(
  plan: MemoryPlan,
  entries: Record<MemoryPartName, number>,
  extra: Partial<Record<MemoryPartName, number>> = {},
): MemoryStats {
  const part = (name: MemoryPartName): MemoryPartStats => {
    const { limit, bytes: budgetBytes } = plan.parts[name];
    const bytes = entries[name] * BYTES_PER_ENTRY[name] + (extra[name] ?? 0);
    return { entries: entries[name], limit, bytes, budgetBytes, share: budgetBytes / plan.budget };
  };
  const parts = {
    latestVersions: part('latestVersions'),
    recentCommands: part('recentCommands'),
    memtables: part('memtables'),
    metadataCache: part('metadataCache'),
    readCaches: part('readCaches'),
  };
  const bytes = PARTS.reduce((n, p) => n + parts[p].bytes, 0);
  return { budget: plan.budget, bytes, parts };
}
