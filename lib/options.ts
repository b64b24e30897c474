/** StoreOptions: defaults and validation. Every field is optional; see docs/api.md. */
import { checkObject, describeValue, rejectUnknownKeys } from './arg-checks.js';
import { InvalidArgumentError } from './errors.js';
import { MIN_CHUNK_SIZE } from './format/layout.js';
import { ReadCacheBudget } from './index/read-cache.js';
import { type MemoryPlan, planMemory } from './memory-budget.js';
import { nativeAddon } from './native.js';
import type { Durability, EngineName, StoreLimits, StoreOptions } from './types.js';

export interface ResolvedLimits {
  maxStreamIdBytes: number;
  maxEventTypeBytes: number;
  maxEventBytes: number;
  maxEventsPerAppend: number;
  maxDiskBytes: number;
  maxPendingBytes: number;
}

export interface ResolvedOptions {
  engine: EngineName | undefined;
  chunkSize: number;
  durability: Durability;
  flushIntervalMs: number;
  flushPollMicros: number;
  commandLookup: 'memory' | 'disk';
  retentionMs: number;
  /** From memoryBudget (memory-budget.ts), or as given. */
  maxRecentStreams: number;
  maxRecentCommands: number;
  /** The budget and how it is split: the three limits above and indexMemtableEntries come from it. */
  memoryBudget: MemoryPlan;
  /** This store's read caches (the JS engine's index pages and filters), held to their part of the
   * budget; one per open store. */
  readCache: ReadCacheBudget;
  limits: ResolvedLimits;
  readOnly: boolean;
  followIntervalMs: number;
  indexMemtableEntries: number;
  maxIndexSegments: number;
  /** maxIndexSegments not given: segments are merged by tiers of about one size as well. */
  tieredMerges: boolean;
  /** chunkSize was given (an existing store's own chunk size is used otherwise). */
  chunkSizeGiven: boolean;
}

const MiB = 1 << 20;

/** Encoded appends waiting for their write and flush (sync durability): a bound on the memory a
 * burst of appends that nobody awaits can take, far above what a flush's time lets accumulate
 * under any sustained rate the disk can take. */
const DEFAULT_MAX_PENDING_BYTES = 256 * MiB;

function positiveInt(name: string, value: unknown, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max) {
    throw new InvalidArgumentError(`${name} must be a positive integer up to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

function optionalPositiveInt(name: string, value: unknown): number | undefined {
  return value === undefined ? undefined : positiveInt(name, value, 0);
}

function nonNegativeInt(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer from 0 to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`${name} must be one of ${allowed.join(', ')}, got ${describeValue(value)}`);
  }
  return value as T;
}

/** Every StoreOptions field, and no other (the type checker holds this list to the interface):
 * resolveOptions refuses any other name. */
const STORE_OPTION_KEYS: ReadonlySet<string> = new Set(
  Object.keys({
    engine: true,
    chunkSize: true,
    durability: true,
    flushIntervalMs: true,
    flushPollMicros: true,
    commandLookup: true,
    retentionMs: true,
    maxRecentStreams: true,
    maxRecentCommands: true,
    memoryBudget: true,
    limits: true,
    readOnly: true,
    followIntervalMs: true,
    indexMemtableEntries: true,
    maxIndexSegments: true,
  } satisfies Record<keyof StoreOptions, true>),
);
const LIMIT_KEYS: ReadonlySet<string> = new Set(
  Object.keys({
    maxStreamIdBytes: true,
    maxEventTypeBytes: true,
    maxEventBytes: true,
    maxEventsPerAppend: true,
    maxDiskBytes: true,
    maxPendingBytes: true,
  } satisfies Record<keyof StoreLimits, true>),
);

export function resolveOptions(options: StoreOptions | undefined): ResolvedOptions {
  if (options !== undefined) {
    checkObject('options', options);
    rejectUnknownKeys('StoreOptions', options, STORE_OPTION_KEYS);
  }
  const o = options ?? {};
  const engine = o.engine === undefined ? undefined : oneOf('engine', o.engine, ['native', 'js'] as const, 'native');
  const chunkSize = positiveInt('chunkSize', o.chunkSize, 256 * MiB, 2 ** 40);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize % 4096 !== 0) {
    throw new InvalidArgumentError(`chunkSize must be a multiple of 4096 and at least 1 MiB, got ${chunkSize}`);
  }
  const l = o.limits ?? {};
  checkObject('limits', l);
  rejectUnknownKeys('StoreOptions.limits', l, LIMIT_KEYS);
  if (o.readOnly !== undefined && typeof o.readOnly !== 'boolean') {
    throw new InvalidArgumentError(`readOnly must be a boolean, got ${describeValue(o.readOnly)}`);
  }
  const memory = planMemory(
    o.memoryBudget,
    {
      latestVersions: optionalPositiveInt('maxRecentStreams', o.maxRecentStreams),
      recentCommands: optionalPositiveInt('maxRecentCommands', o.maxRecentCommands),
      memtables: optionalPositiveInt('indexMemtableEntries', o.indexMemtableEntries),
      // The JS engine reads index files into memory: as open-store.ts chooses it.
    },
    engine === 'js' || nativeAddon() === undefined,
  );
  const resolved: ResolvedOptions = {
    engine,
    chunkSize,
    durability: oneOf('durability', o.durability, ['sync', 'interval', 'none'] as const, 'sync'),
    flushIntervalMs: positiveInt('flushIntervalMs', o.flushIntervalMs, 100),
    flushPollMicros: nonNegativeInt('flushPollMicros', o.flushPollMicros, 1000, 1_000_000),
    commandLookup: oneOf('commandLookup', o.commandLookup, ['memory', 'disk'] as const, 'disk'),
    retentionMs: positiveInt('retentionMs', o.retentionMs, 7 * 24 * 3600 * 1000),
    maxRecentStreams: memory.parts.latestVersions.limit,
    maxRecentCommands: memory.parts.recentCommands.limit,
    memoryBudget: memory,
    readCache: new ReadCacheBudget(memory.parts.readCaches.limit),
    limits: {
      maxStreamIdBytes: positiveInt('limits.maxStreamIdBytes', l.maxStreamIdBytes, 1024, 65535),
      maxEventTypeBytes: positiveInt('limits.maxEventTypeBytes', l.maxEventTypeBytes, 256, 65535),
      maxEventBytes: positiveInt('limits.maxEventBytes', l.maxEventBytes, 16 * MiB, 2 ** 32 - 1),
      maxEventsPerAppend: positiveInt('limits.maxEventsPerAppend', l.maxEventsPerAppend, 10_000),
      maxDiskBytes: positiveInt('limits.maxDiskBytes', l.maxDiskBytes, Number.MAX_SAFE_INTEGER),
      maxPendingBytes: positiveInt('limits.maxPendingBytes', l.maxPendingBytes, DEFAULT_MAX_PENDING_BYTES),
    },
    readOnly: o.readOnly ?? false,
    followIntervalMs: nonNegativeInt('followIntervalMs', o.followIntervalMs, 50, 60_000),
    indexMemtableEntries: memory.parts.memtables.limit,
    maxIndexSegments: positiveInt('maxIndexSegments', o.maxIndexSegments, 16),
    tieredMerges: o.maxIndexSegments === undefined,
    chunkSizeGiven: o.chunkSize !== undefined,
  };
  if (resolved.maxIndexSegments < 2) throw new InvalidArgumentError('maxIndexSegments must be at least 2');
  return resolved;
}
