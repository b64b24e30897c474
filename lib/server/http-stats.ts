/**
 * `GET /api/stats` (the store's stats()) and `GET /api/stats/history`: what the Stream Browser's
 * stats page charts. A sampler reads stats() every SAMPLE_MS while the server runs and keeps the
 * last HISTORY_SAMPLES of them (a ring: memory stays bounded however long the server runs); each
 * point is the difference between two samples, so the charts show rates over the last minutes, not
 * totals since open: appends per second, mean flush latency, segment builds and merges.
 */
import type { FastifyInstance } from 'fastify';
import type { EventStore } from '../event-store.js';
import type { StoreStats } from '../types.js';
import { errors, query } from './http-schemas.js';

export const SAMPLE_MS = 2000;
/** Ten minutes of samples. */
export const HISTORY_SAMPLES = 300;

/** A point up to the request's moment is added when the last sample is at least this old. */
const MIN_TAIL_MS = 250;

export interface ActivityPoint {
  /** When the interval ended, ms since the epoch. */
  at: number;
  appendsPerSec: number;
  flushesPerSec: number;
  /** Mean flush latency over the interval, ms; null when no flush ran in it. */
  flushMs: number | null;
  segmentBuilds: number;
  segmentMerges: number;
  bytesOnDisk: number;
}

interface Sample {
  at: number;
  events: number;
  flushes: number;
  flushTimeMs: number;
  builds: number;
  merges: number;
  bytesOnDisk: number;
}

const sampleOf = (s: StoreStats, at: number): Sample => ({
  at,
  events: s.eventCount,
  flushes: s.flushes,
  flushTimeMs: s.flushTimeMs,
  builds: s.index.segmentBuilds,
  merges: s.index.segmentMerges,
  bytesOnDisk: s.bytesOnDisk,
});

export class ActivitySampler {
  private readonly ring: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly capacity = HISTORY_SAMPLES,
  ) {}

  start(intervalMs = SAMPLE_MS): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async sample(): Promise<void> {
    // A closed store (the server outliving it) just stops adding points.
    const s = await this.store.stats().catch(() => undefined);
    if (!s) return;
    this.ring.push(sampleOf(s, Date.now()));
    if (this.ring.length > this.capacity) this.ring.shift();
  }

  /** The points between the samples, and up to `now` (not kept) when it is a new moment. */
  points(now?: StoreStats): ActivityPoint[] {
    const samples = [...this.ring];
    const last = samples.at(-1);
    if (now && (!last || Date.now() - last.at >= MIN_TAIL_MS)) samples.push(sampleOf(now, Date.now()));
    const out: ActivityPoint[] = [];
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1] as Sample;
      const b = samples[i] as Sample;
      const secs = Math.max(1e-3, (b.at - a.at) / 1000);
      const flushes = b.flushes - a.flushes;
      out.push({
        at: b.at,
        appendsPerSec: Math.max(0, b.events - a.events) / secs,
        flushesPerSec: Math.max(0, flushes) / secs,
        flushMs: flushes > 0 ? (b.flushTimeMs - a.flushTimeMs) / flushes : null,
        segmentBuilds: Math.max(0, b.builds - a.builds),
        segmentMerges: Math.max(0, b.merges - a.merges),
        bytesOnDisk: b.bytesOnDisk,
      });
    }
    return out;
  }
}

const statsSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    engine: { type: 'string' },
    eventCount: { type: 'integer' },
    streamCount: { type: 'integer' },
    commandCount: { type: 'integer' },
    chunkCount: { type: 'integer' },
    bytesOnDisk: { type: 'integer' },
    endPosition: { type: 'integer' },
    durability: { type: 'string' },
    flushes: { type: 'integer' },
    writes: { type: 'integer' },
    flushTimeMs: { type: 'number' },
    chunks: {
      type: 'array',
      items: { type: 'object', properties: { file: { type: 'string' }, bytesOnDisk: { type: 'integer' } } },
    },
    recovery: { type: 'object', additionalProperties: true },
    index: { type: 'object', additionalProperties: true },
  },
};

const pointSchema = {
  type: 'object',
  properties: {
    at: { type: 'integer' },
    appendsPerSec: { type: 'number' },
    flushesPerSec: { type: 'number' },
    flushMs: { type: ['number', 'null'] },
    segmentBuilds: { type: 'integer' },
    segmentMerges: { type: 'integer' },
    bytesOnDisk: { type: 'integer' },
  },
};

export function statsRoutes(app: FastifyInstance, store: EventStore, sampler: ActivitySampler): void {
  app.get(
    '/api/stats',
    { schema: { summary: "the store's statistics (stats())", querystring: query({}), response: { 200: statsSchema, ...errors() } } },
    async () => store.stats(),
  );
  app.get(
    '/api/stats/history',
    {
      schema: {
        summary: `activity over the last ${(HISTORY_SAMPLES * SAMPLE_MS) / 60_000} minutes, one point per ${SAMPLE_MS / 1000} s: appends/s, flush latency, segment builds`,
        querystring: query({}),
        response: {
          200: { type: 'object', properties: { intervalMs: { type: 'integer' }, points: { type: 'array', items: pointSchema } } },
          ...errors(),
        },
      },
    },
    // With a point up to now, so a page opened right after the server started has a chart already.
    async () => ({ intervalMs: SAMPLE_MS, points: sampler.points(await store.stats()) }),
  );
}
