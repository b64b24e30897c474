/**
 * The pieces every argument check shares: how a rejected value is named in a message (its type
 * first, so `'1'` and `1` never read alike), and the refusal of option names a function does not
 * know (a misspelt option silently ignored is a default the caller did not ask for).
 */
import { InvalidArgumentError } from './errors.js';

const SHOWN_CHARS = 40;

/** A value as an INVALID_ARGUMENT message shows it: its type, and the value itself where short. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  switch (typeof v) {
    case 'string':
      // JSON.stringify escapes control characters and lone surrogates: the message stays one line.
      return `the string ${JSON.stringify(v.length > SHOWN_CHARS ? `${v.slice(0, SHOWN_CHARS)}…` : v)}`;
    case 'number':
      return `the number ${String(v)}`;
    case 'bigint':
      return `the bigint ${String(v)}n`;
    case 'boolean':
      return `the boolean ${String(v)}`;
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default:
      return v instanceof Uint8Array ? `a ${v.constructor.name} of ${v.length} bytes` : 'an object';
  }
}

/** Throws INVALID_ARGUMENT when `options` has a property `known` does not name. A loop over the
 * keys, no array: appends run this once per call. */
export function rejectUnknownKeys(what: string, options: object, known: ReadonlySet<string>): void {
  for (const key in options) {
    if (!known.has(key)) {
      const unknown = Object.keys(options).filter((k) => !known.has(k));
      throw new InvalidArgumentError(
        `${what}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (known: ${[...known].join(', ')})`,
      );
    }
  }
}

/** Throws INVALID_ARGUMENT unless `v` is a plain object (not null, not an array). */
export function checkObject(name: string, v: unknown): asserts v is object {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new InvalidArgumentError(`${name} must be an object, got ${describeValue(v)}`);
  }
}
