/**
 * One open EventStore per directory per process, shared by every Emmett handle over it: an Emmett
 * app (and its tests) may call the factory for one directory more than once, and a second
 * EventStore.open of a directory this process holds is refused with STORE_LOCKED.
 *
 * Invariants: an entry lives from the first acquire of its directory until the close that follows
 * its last release; `refs` counts the handles not yet released; an acquire that finds the entry
 * closing waits for that close, then opens the store anew. The options of the acquire that opened
 * the store are the ones in force for every handle over it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EventStore } from '../event-store.js';
import type { StoreOptions } from '../types.js';

interface Entry {
  opening: Promise<EventStore>;
  refs: number;
  closing?: Promise<void>;
}

const entries = new Map<string, Entry>();

/** A handle's hold on the shared store of its directory. */
export interface StoreHold {
  readonly store: Promise<EventStore>;
  /** Releases the hold (once; later calls do nothing); the last release closes the store. */
  release(): Promise<void>;
}

/** The key of a directory: its real path when it exists, so two spellings share one store. */
function keyOf(directory: string): string {
  const abs = path.resolve(directory);
  try {
    return fs.realpathSync(abs);
  } catch {
    return abs;
  }
}

/** Takes a hold on the store of `directory`, opening it if this process has none open. */
export function holdStore(directory: string, options: StoreOptions): StoreHold {
  const key = keyOf(directory);
  const entry = enter(key, directory, options);
  entry.refs++;
  let released = false;
  // Unhandled until the handle is used: a failed open rejects the handle's first call.
  entry.opening.catch(() => {});
  return {
    store: entry.opening,
    release: async () => {
      if (released) return;
      released = true;
      entry.refs--;
      if (entry.refs > 0) return;
      entry.closing = entry.opening.then(
        (s) => s.close(),
        () => {},
      );
      try {
        await entry.closing;
      } finally {
        if (entries.get(key) === entry) entries.delete(key);
      }
    },
  };
}

function enter(key: string, directory: string, options: StoreOptions): Entry {
  const current = entries.get(key);
  if (current !== undefined && current.closing === undefined) return current;
  // A store still closing is opened again once it has closed; a failed open is forgotten, so the
  // next factory call tries again.
  const before = current?.closing ?? Promise.resolve();
  const entry: Entry = { opening: before.then(() => EventStore.open(directory, options)), refs: 0 };
  entries.set(key, entry);
  entry.opening.catch(() => {
    if (entries.get(key) === entry) entries.delete(key);
  });
  return entry;
}
