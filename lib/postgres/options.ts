/** Options of `PostgresEventStore.connect`, checked and given their defaults. */
import { InvalidArgumentError } from '../errors.js';
import type { ResolvedLimits } from '../options.js';
import { checkSchemaName } from './schema.js';

export interface PostgresLimits {
  maxStreamIdBytes?: number;
  maxEventTypeBytes?: number;
  maxEventBytes?: number;
  maxEventsPerAppend?: number;
  /** Bytes of appends that may wait for their transaction at once; past it an append waits, in
   * call order, and rejects with LIMIT_EXCEEDED after 5 s [64 MiB]. */
  maxPendingBytes?: number;
}

export interface PostgresStoreOptions {
  /** The PostgreSQL schema holding the store's tables; one database can hold several stores ['annals']. */
  schema?: string;
  /** Connections of the pool (appends use one at a time, reads the rest) [10]. */
  poolSize?: number;
  limits?: PostgresLimits;
  /** How long reads, appends and subscriptions keep trying to reach the server before they fail with UNAVAILABLE [30 000]. */
  reconnectTimeoutMs?: number;
  /** Subscriptions look for new events this often besides the server's notifications [500]. */
  pollIntervalMs?: number;
  /** How long `readAll` and subscriptions wait for older transactions of other writers to end so
   * that this store's own acknowledged appends become readable in global order [5 000]. */
  visibilityWaitMs?: number;
  /** Refuse writes (READ_ONLY); creates no schema. */
  readOnly?: boolean;
}

export interface ResolvedPostgresOptions {
  schema: string;
  poolSize: number;
  limits: ResolvedLimits;
  reconnectTimeoutMs: number;
  pollIntervalMs: number;
  visibilityWaitMs: number;
  readOnly: boolean;
}

function int(name: string, v: unknown, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
  }
  return v;
}

const MiB = 1 << 20;

export function resolvePostgresOptions(options: unknown): ResolvedPostgresOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
  const o = options as PostgresStoreOptions;
  const l = o.limits ?? {};
  if (typeof l !== 'object' || l === null) throw new InvalidArgumentError('limits must be an object');
  if (o.readOnly !== undefined && typeof o.readOnly !== 'boolean') throw new InvalidArgumentError('readOnly must be a boolean');
  return {
    schema: checkSchemaName(o.schema ?? 'annals'),
    poolSize: int('poolSize', o.poolSize, 10, 2, 1000),
    limits: {
      maxStreamIdBytes: int('limits.maxStreamIdBytes', l.maxStreamIdBytes, 1024, 1, 65535),
      maxEventTypeBytes: int('limits.maxEventTypeBytes', l.maxEventTypeBytes, 256, 1, 65535),
      // PostgreSQL holds at most 1 GB in one field.
      maxEventBytes: int('limits.maxEventBytes', l.maxEventBytes, 16 * MiB, 1, 512 * MiB),
      maxEventsPerAppend: int('limits.maxEventsPerAppend', l.maxEventsPerAppend, 10_000, 1, 1_000_000),
      maxDiskBytes: Number.MAX_SAFE_INTEGER,
      maxPendingBytes: int('limits.maxPendingBytes', l.maxPendingBytes, 64 * MiB, 1, Number.MAX_SAFE_INTEGER),
    },
    reconnectTimeoutMs: int('reconnectTimeoutMs', o.reconnectTimeoutMs, 30_000, 0, 3_600_000),
    pollIntervalMs: int('pollIntervalMs', o.pollIntervalMs, 500, 10, 60_000),
    visibilityWaitMs: int('visibilityWaitMs', o.visibilityWaitMs, 5000, 0, 600_000),
    readOnly: o.readOnly ?? false,
  };
}
