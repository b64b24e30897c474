/**
 * Filters of the global log (`readAll`, `subscribe`): `{ streamPrefix?, category?, types? }`, each
 * a string or a list; the fields AND, a list's entries OR. A filter is compiled to the UTF-8 bytes
 * it compares and matched against a frame's stream id and type where they lie in the record, so
 * an event that does not match is skipped without a string made or its payload decoded.
 */
import { InvalidArgumentError } from './errors.js';
import { idAndTypeBytes } from './format/record-decode.js';

export interface EventFilter {
  /** Stream ids starting with (one of) these. */
  streamPrefix?: string | readonly string[];
  /** Streams of (one of) these categories: their id starts with the category and a '-'. */
  category?: string | readonly string[];
  /** Events of (one of) these types. */
  types?: string | readonly string[];
}

const FIELDS = new Set(['streamPrefix', 'category', 'types']);
/** A filter's lists are for a few names, not a set of thousands to scan per event. */
const MAX_FILTER_ENTRIES = 1000;

/** Matches frames: true when the event frame at `off` passes the filter. */
export type FrameMatcher = (buf: Buffer, off: number, position: number) => boolean;

function names(field: string, v: unknown): Buffer[] | undefined {
  if (v === undefined) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_FILTER_ENTRIES) {
    throw new InvalidArgumentError(`filter.${field} must be a string or a list of 1 to ${MAX_FILTER_ENTRIES} strings, got ${describe(v)}`);
  }
  return list.map((s: unknown) => {
    if (typeof s !== 'string' || s.length === 0)
      throw new InvalidArgumentError(`filter.${field} entries must be non-empty strings, got ${describe(s)}`);
    if (field === 'category' && s.includes('-')) {
      throw new InvalidArgumentError(`filter.category '${s}' contains '-': a category is a stream id's part before its first '-'`);
    }
    return Buffer.from(field === 'category' ? `${s}-` : s, 'utf8');
  });
}

function describe(v: unknown): string {
  return Array.isArray(v) ? `an array of ${v.length}` : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}

/** Checks a filter (INVALID_ARGUMENT for anything else) and compiles it; undefined: no filter. */
export function compileFilter(filter: unknown): FrameMatcher | undefined {
  if (filter === undefined) return undefined;
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new InvalidArgumentError(`filter must be an object, got ${describe(filter)}`);
  }
  for (const k of Object.keys(filter)) {
    if (!FIELDS.has(k)) throw new InvalidArgumentError(`filter has an unknown field '${k}' (known: streamPrefix, category, types)`);
  }
  const f = filter as Record<string, unknown>;
  const prefixes = names('streamPrefix', f.streamPrefix);
  const categories = names('category', f.category);
  const types = names('types', f.types);
  if (!prefixes && !categories && !types) return undefined;
  const lengths = new Uint32Array(2);
  return (buf, off, position) => {
    const id = idAndTypeBytes(buf, off, position, lengths);
    const idEnd = id + (lengths[0] as number);
    if (prefixes && !prefixes.some((p) => startsWith(buf, id, idEnd, p))) return false;
    if (categories && !categories.some((p) => startsWith(buf, id, idEnd, p))) return false;
    if (types && !types.some((t) => equals(buf, idEnd, idEnd + (lengths[1] as number), t))) return false;
    return true;
  };
}

function startsWith(buf: Buffer, from: number, end: number, prefix: Buffer): boolean {
  return end - from >= prefix.length && buf.compare(prefix, 0, prefix.length, from, from + prefix.length) === 0;
}

function equals(buf: Buffer, from: number, end: number, value: Buffer): boolean {
  return end - from === value.length && buf.compare(value, 0, value.length, from, end) === 0;
}
