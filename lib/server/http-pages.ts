/**
 * Bounded pages of events for the list endpoints. A page stops at `limit` events or once its JSON
 * reaches `maxBytes` (but holds at least one event, so paging always moves on), and tells where the
 * next page starts (`next`), or null when nothing is left. Each page is read from the store a
 * piece at a time, so a request never reads more than about one page.
 */
import type { EventStore } from '../event-store.js';
import type { RecordedEvent } from '../types.js';
import { eventToJson } from './json-codec.js';

/** Events a stream read asks the store for at once. */
const STREAM_STEP = 256;

export class Page {
  private readonly parts: string[] = [];
  private bytes = 0;

  constructor(
    readonly limit: number,
    private readonly maxBytes: number,
  ) {}

  get count(): number {
    return this.parts.length;
  }

  get full(): boolean {
    return this.parts.length >= this.limit || this.bytes >= this.maxBytes;
  }

  add(e: RecordedEvent): void {
    const text = JSON.stringify(eventToJson(e));
    this.parts.push(text);
    this.bytes += Buffer.byteLength(text);
  }

  /** The response: `head`'s fields, then `events` and `next`, built from the events' JSON as is. */
  json(head: Record<string, unknown>, next: number | null): string {
    const fields = JSON.stringify(head).slice(1, -1);
    return `{${fields}${fields ? ',' : ''}"events":[${this.parts.join(',')}],"next":${next === null ? 'null' : String(next)}}`;
  }
}

/** Fills `page` from a stream; `next` is the `fromVersion` of the following page, same direction. */
export async function streamPage(
  store: EventStore,
  streamId: string,
  options: { fromVersion?: number; direction?: 'forward' | 'backward' },
  page: Page,
): Promise<number | null> {
  let from = options.fromVersion;
  for (;;) {
    const step = Math.min(STREAM_STEP, page.limit - page.count + 1);
    const batch = await store.readStream(streamId, { fromVersion: from, direction: options.direction, limit: step });
    for (const e of batch) {
      if (page.full) return e.version;
      page.add(e);
    }
    const last = batch.at(-1);
    if (!last || batch.length < step) return null;
    from = options.direction === 'backward' ? last.version - 1 : last.version + 1;
    if (from < 1) return null;
  }
}

/** Fills `page` from a command's events after position `after`; `next` is the following `after`. */
export function listPage(events: RecordedEvent[], after: number | undefined, page: Page): number | null {
  let last: number | null = null;
  for (const e of events) {
    if (after !== undefined && e.position <= after) continue;
    if (page.full) return last;
    page.add(e);
    last = e.position;
  }
  return null;
}
