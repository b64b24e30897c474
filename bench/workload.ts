/** Deterministic event data for the benchmarks: ~150-byte JSON payloads over many streams. */
import fs from 'node:fs';
import type { EventData } from '../lib/index.js';

export function payload(i: number): Record<string, unknown> {
  return {
    orderId: `order-${i}`,
    customer: `customer-${i % 977}`,
    amount: (i % 1000) * 1.25,
    currency: 'EUR',
    note: 'x'.repeat(40),
    seq: i,
  };
}

export function batch(start: number, size: number): EventData[] {
  return Array.from({ length: size }, (_, k) => ({ type: 'OrderPlaced', data: payload(start + k) }));
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Resident anonymous memory (heap, native allocations) and resident pages of mapped files, in
 * bytes, from /proc (Linux); undefined where /proc gives no such split. */
export function rssParts(): { anon: number; file: number } | undefined {
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { anon: field('RssAnon'), file: field('RssFile') + field('RssShmem') };
  } catch {
    return undefined;
  }
}
