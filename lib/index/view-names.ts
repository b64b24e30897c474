/**
 * The read models' names: a stream's category is its id before the first '-' (`order-42` →
 * `order`; an id without '-', or starting with one, has none), and an event's type is its type.
 * Their index keys are the names' hashes, as stream and command keys are the ids' hashes; the
 * few names a store uses are hashed once each (NameKeys).
 */
import { SEGMENT_KIND_CATEGORY, SEGMENT_KIND_TYPE, type ViewKind } from '../format/index-layout.js';
import { type Key, keyOf } from '../format/key-hash.js';
import type { Memtable } from './memtable.js';
import type { IndexFields } from './segment-search.js';

export function categoryOf(streamId: string): string | undefined {
  const dash = streamId.indexOf('-');
  return dash > 0 ? streamId.slice(0, dash) : undefined;
}

/** The name an event has in a view kind (undefined: a stream without a category). */
export function viewName(kind: ViewKind, f: Pick<IndexFields, 'streamId' | 'type'>): string | undefined {
  return kind === SEGMENT_KIND_CATEGORY ? categoryOf(f.streamId) : f.type;
}

/** Bounded: names are few in the stores this is for; an adversarial many (or many long ones: a
 * category is up to a stream id's length) starts it afresh. */
const MAX_CACHED_NAMES = 10_000;
const MAX_CACHED_CHARS = 1 << 20;

/** Keys of names, computed once per name. */
export class NameKeys {
  private readonly keys = new Map<string, Key>();
  private chars = 0;

  of(name: string): Key {
    let key = this.keys.get(name);
    if (key === undefined) {
      if (this.keys.size >= MAX_CACHED_NAMES || this.chars + name.length > MAX_CACHED_CHARS) {
        this.keys.clear();
        this.chars = 0;
      }
      key = keyOf(name);
      this.keys.set(name, key);
      this.chars += name.length;
    }
    return key;
  }
}

/**
 * Adds events of one stream to the memtable's category and type entries: `types[i]` is the type
 * of the event at `positions[i]`. Positions below `categoriesFrom` / `typesFrom` are skipped (a
 * replay at open re-reads records some kinds' segments already cover).
 */
export function addViews(
  m: Memtable,
  keys: NameKeys,
  streamId: string,
  types: readonly string[],
  positions: readonly number[],
  categoriesFrom = 0,
  typesFrom = 0,
): void {
  const category = categoryOf(streamId);
  const categoryKey = category === undefined ? undefined : keys.of(category);
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i] as number;
    if (categoryKey !== undefined && p >= categoriesFrom) m.addView(SEGMENT_KIND_CATEGORY, categoryKey, p);
    if (p >= typesFrom) m.addView(SEGMENT_KIND_TYPE, keys.of(types[i] as string), p);
  }
}
