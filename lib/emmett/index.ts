/**
 * annals as Emmett's event store: `import { getAnnalsEventStore } from 'annals/emmett'`. Needs
 * `@event-driven-io/emmett` (an optional peer dependency of annals); the main `annals` import never
 * loads it. docs/emmett.md describes it.
 */
export type { AnnalsEventStoreHooks, BeforeCommitContext } from './append.js';
export { type AnnalsConsumerOptions, AnnalsEventStoreConsumer, type AnnalsProcessor, CONSUMER_NAME_PREFIX } from './consumer.js';
export { AnnalsEmmettEventStore, type AnnalsEventStoreOptions, getAnnalsEventStore } from './event-store.js';
export type { AnnalsJsonOptions, AnnalsReadEvent, AnnalsReadEventMetadata, JsonTransform } from './mapping.js';
