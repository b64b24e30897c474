/**
 * The JSON payloads of many decoded events, parsed with one JSON.parse: a read of many events
 * (a stream, a command's events, a block of the global log) gathers their payload texts, which
 * the store wrote with JSON.stringify, into one array text `[p1,p2,...]`. Why: each JSON.parse
 * of a short text pays a fixed cost on top of the text's, and so does the UTF-8 decode of each
 * payload: for payloads of a few hundred bytes, parsing them gathered costs clearly less than one
 * by one, copies included (docs/benchmarks.md has the measurements).
 *
 * A gathered text is only trusted when it parses to exactly as many values as payloads went in;
 * otherwise each payload of the group is parsed alone, and the first that fails throws the
 * CorruptionError naming its record, as decoding one event at a time does. What this leaves
 * unchecked: payloads that are each not one JSON text but add up to the right count together
 * (`[1`, `2]` and `3,4`). Only a writer can make those, with valid checksums: frames are
 * CRC-checked before decoding, and the store writes every JSON payload from JSON.stringify (the
 * CLI's import appends through the API too). Whoever can write such frames can as well write any
 * valid JSON in their place, and accidental damage fails the frame's CRC before any parse.
 *
 * Invariants: every payload added is assigned before the read that added it returns (`flush`);
 * one group holds payloads of one buffer, at most GROUP_BYTES of text.
 */
import { CorruptionError } from '../errors.js';
import type { RecordedEvent } from '../types.js';
import { utf8Text } from './text.js';

/**
 * Text of one group: enough to amortise the parse (50 payloads of 131 bytes already gain all
 * there is), and below V8's large-object size (128 KiB) even as a two-byte string. A larger text
 * is allocated pages of its own, fresh ones every read: reads of 1,000 events went 20-40% slower
 * with 256 KiB groups than with no batching at all.
 */
const GROUP_BYTES = 32 * 1024;
/** A payload this large gains nothing from company: parsed alone, never copied. */
const ALONE_BYTES = 8 * 1024;
const OPEN = 0x5b;
const COMMA = 0x2c;
const CLOSE = 0x5d;

/** Parses one payload text, as the store wrote it. */
export function parseJsonPayload(buf: Buffer, start: number, len: number, position: number): unknown {
  try {
    return JSON.parse(utf8Text(buf, start, start + len));
  } catch {
    // The store wrote this text with JSON.stringify: text that does not parse is damage.
    throw new CorruptionError(`record at position ${position}: its JSON payload does not parse`, false, position);
  }
}

export class JsonBatch {
  private buf: Buffer | undefined;
  /** Payloads held: entries [0, n) of the arrays below, which are reused from one group to the
   * next (emptying an array frees its backing store, and the next push allocates it again). */
  private n = 0;
  private readonly events: (RecordedEvent | undefined)[] = [];
  /** Per payload: 0 for the event's data, 1 for its metadata. */
  private readonly fields: number[] = [];
  private readonly starts: number[] = [];
  private readonly lens: number[] = [];
  private readonly positions: number[] = [];
  private bytes = 0;
  private text = Buffer.allocUnsafe(64 * 1024);

  /** The JSON payload at buf[start, start + len) of `event` (its data, or its metadata when
   * `metadata`), assigned at the latest by the next flush. */
  add(event: RecordedEvent, metadata: boolean, buf: Buffer, start: number, len: number, position: number): void {
    if (len >= ALONE_BYTES) {
      assign(event, metadata ? 1 : 0, parseJsonPayload(buf, start, len, position));
      return;
    }
    if (buf !== this.buf || this.bytes + len + 1 > GROUP_BYTES) this.flush();
    this.buf = buf;
    const k = this.n++;
    this.events[k] = event;
    this.fields[k] = metadata ? 1 : 0;
    this.starts[k] = start;
    this.lens[k] = len;
    this.positions[k] = position;
    this.bytes += len + 1;
  }

  /** Parses and assigns every payload added so far. */
  flush(): void {
    const n = this.n;
    const buf = this.buf;
    if (n === 0 || buf === undefined) return;
    try {
      const values = n === 1 ? undefined : this.parseGathered(buf, n);
      for (let k = 0; k < n; k++) {
        const value =
          values === undefined
            ? parseJsonPayload(buf, this.starts[k] as number, this.lens[k] as number, this.positions[k] as number)
            : values[k];
        assign(this.events[k] as RecordedEvent, this.fields[k] as number, value);
      }
    } finally {
      this.clear();
    }
  }

  /** The group's values, or undefined when its gathered text is not an array of n values. */
  private parseGathered(buf: Buffer, n: number): unknown[] | undefined {
    if (this.text.length < this.bytes + 2) this.text = Buffer.allocUnsafe(Math.max(this.bytes + 2, this.text.length * 2));
    const text = this.text;
    let o = 0;
    text[o++] = OPEN;
    for (let k = 0; k < n; k++) {
      if (k > 0) text[o++] = COMMA;
      const start = this.starts[k] as number;
      o += buf.copy(text, o, start, start + (this.lens[k] as number));
    }
    text[o++] = CLOSE;
    let values: unknown;
    try {
      values = JSON.parse(utf8Text(text, 0, o));
    } catch {
      return undefined;
    }
    return Array.isArray(values) && values.length === n ? values : undefined;
  }

  /** Drops what was added without assigning it (a read that failed part way), and the events. */
  clear(): void {
    for (let k = 0; k < this.n; k++) this.events[k] = undefined;
    this.n = 0;
    this.buf = undefined;
    this.bytes = 0;
  }
}

function assign(event: RecordedEvent, field: number, value: unknown): void {
  if (field === 0) event.data = value;
  else event.metadata = value;
}
