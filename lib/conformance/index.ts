/**
 * The conformance suite: the public API's contract, as vitest tests, run against any store that
 * implements `AnnalsStore` (the embedded store with either engine, the PostgreSQL store, or a
 * store of your own). A store that fails one of these differs from the contract: a bug in that
 * store, never a case for the test to tolerate.
 *
 *   import { describeConformance } from 'annals/conformance';
 *   describeConformance('my store', { create: (o) => MyStore.open(o), reopen: (s, o) => MyStore.open(o) });
 *
 * `create` makes a new, empty store for each test; `reopen` opens the same store again after the
 * suite closed it (what was acknowledged must be there). Stores are closed after each test.
 */
import { afterEach, describe } from 'vitest';
import type { AnnalsStore } from '../store-api.js';
import { appendTests } from './appends.js';
import { badInputTests } from './bad-input.js';
import { concurrencyTests } from './concurrency.js';
import { consumerTests } from './consumers.js';
import type { ConformanceFactory, Harness } from './harness.js';
import { lifecycleTests } from './lifecycle.js';
import { readModelTests } from './read-models.js';
import { readTests } from './reads.js';
import { snapshotTests } from './snapshots.js';
import { subscriptionTests } from './subscriptions.js';

export type { ConformanceFactory, ConformanceOptions, Harness } from './harness.js';

export function describeConformance(name: string, factory: ConformanceFactory): void {
  const open: AnnalsStore[] = [];
  const track = (s: AnnalsStore) => {
    open.push(s);
    return s;
  };
  const h: Harness = {
    create: async (options) => track(await factory.create(options)),
    reopen: async (store, options) => {
      await store.close();
      return track(await factory.reopen(store, options));
    },
  };
  const label = factory.skip ? `conformance: ${name} (skipped: ${factory.skip})` : `conformance: ${name}`;
  describe.skipIf(factory.skip !== undefined)(label, () => {
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close().catch(() => {});
      await factory.cleanup?.();
    });
    appendTests(h);
    readTests(h);
    badInputTests(h);
    subscriptionTests(h);
    snapshotTests(h);
    concurrencyTests(h);
    readModelTests(h);
    consumerTests(h);
    lifecycleTests(h);
  });
}
