/**
 * Events over HTTP and in NDJSON files: bytes payloads travel as `{ "$bytes": "<base64>" }`, so a
 * Uint8Array survives the round trip (export → import, append through the HTTP API).
 */
import type { RecordedEvent } from '../types.js';

function wrapBytes(v: unknown): unknown {
  return v instanceof Uint8Array ? { $bytes: Buffer.from(v).toString('base64') } : v;
}

/** A payload from JSON: `{ $bytes }` back to a Uint8Array, anything else as it is. */
export function unwrapBytes(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.$bytes === 'string') return new Uint8Array(Buffer.from(o.$bytes, 'base64'));
  }
  return v;
}

export function eventToJson(e: RecordedEvent): Record<string, unknown> {
  return { ...e, data: wrapBytes(e.data), metadata: wrapBytes(e.metadata) };
}
