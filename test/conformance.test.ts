// The public API's contract (lib/conformance) over the three stores: the embedded store with each
// engine, and the PostgreSQL store (skipped, saying why, when no server can be had).
import { describeConformance } from '../lib/conformance/index.js';
import { EventStore } from '../lib/index.js';
import type { PostgresEventStore } from '../lib/postgres/index.js';
import { ENGINES, MiB, tempDir } from './helpers.js';
import { connectPg, dropSchemas, newSchema, PG_SKIP } from './pg-helpers.js';

for (const engine of ENGINES) {
  const dirs = new WeakMap<object, string>();
  describeConformance(`${engine} engine`, {
    create: async (options) => {
      const dir = tempDir();
      const s = await EventStore.open(dir, { engine, chunkSize: MiB, ...options });
      dirs.set(s, dir);
      return s;
    },
    reopen: async (store, options) => {
      const dir = dirs.get(store) as string;
      const s = await EventStore.open(dir, { engine, chunkSize: MiB, ...options });
      dirs.set(s, dir);
      return s;
    },
  });
}

describeConformance('postgres', {
  create: (options) => connectPg(newSchema(), options),
  reopen: (store, options) => connectPg((store as PostgresEventStore).schema, options),
  cleanup: dropSchemas,
  ...(PG_SKIP ? { skip: PG_SKIP } : {}),
});
