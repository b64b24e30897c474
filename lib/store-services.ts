/**
 * The services of an EventStore over its log, index and writer, wired to one another: the append
 * committer, stream reads under the stream-metadata rules, aggregates and snapshots, deletes and
 * retention, read models, durable consumers and the scavenger. Some refer to each other (the
 * metadata registry lists streams through the read models, which judge streams by its rules), so
 * each is reached through the `services` object once all exist; none calls another while being
 * built.
 */
import path from 'node:path';
import { Aggregates } from './aggregates.js';
import { AppendCommitter } from './append-committer.js';
import { Consumers } from './consumers.js';
import type { LogEngine } from './engine/log-engine.js';
import type { StoreIndex } from './index/store-index.js';
import type { LogWriter } from './log-writer.js';
import { warn } from './open-store.js';
import type { ResolvedOptions } from './options.js';
import { ReadModels } from './read-models.js';
import { type Scavenger, storeScavenger } from './scavenge.js';
import { SnapshotStore } from './snapshot-store.js';
import type { StoreReader } from './store-reader.js';
import { StreamLifecycle } from './stream-lifecycle.js';
import { firstVisibleVersion, StreamMetadataRegistry } from './stream-metadata.js';
import { StreamReads } from './stream-reads.js';
import type { VisibilitySignal } from './subscription.js';

export interface StoreServices {
  committer: AppendCommitter;
  aggregates: Aggregates;
  metadata: StreamMetadataRegistry;
  streamReads: StreamReads;
  scavenger: Scavenger;
  lifecycle: StreamLifecycle;
  models: ReadModels;
  consumers: Consumers;
}

export interface ServiceDeps {
  directory: string;
  options: ResolvedOptions;
  engine: LogEngine;
  index: StoreIndex;
  writer: LogWriter;
  reader: StoreReader;
  signal: VisibilitySignal;
  checkOpen(): void;
  closed(): boolean;
}

export function wireServices(d: ServiceDeps): StoreServices {
  const { options, index, reader, writer } = d;
  const s = {} as StoreServices;
  s.committer = new AppendCommitter(writer, index, reader, options, {
    gone: (id, version) => s.streamReads.goneOf(id, version),
    floor: (id) => s.metadata.versionFloor(id),
  });
  const snapshots = new SnapshotStore(path.join(d.directory, 'snapshots'), (m) => warn(m, 'ANNALS_SNAPSHOT'));
  s.aggregates = new Aggregates(reader, snapshots, options, (id) => s.streamReads.visibleFrom(id));
  s.metadata = new StreamMetadataRegistry({
    reader,
    listStreams: (o) => s.models.listStreams(o),
    latest: (id) => index.latest(id),
    maxCached: options.memoryBudget.parts.metadataCache.limit,
  });
  reader.visibleByMetadata = (e) => s.metadata.empty || s.metadata.visible(e, Date.now());
  s.streamReads = new StreamReads(reader, s.metadata, options.limits);
  s.scavenger = storeScavenger(d.engine, index, s.metadata, !options.readOnly, (floors) => s.lifecycle.raiseFloors(floors));
  s.lifecycle = new StreamLifecycle({
    limits: options.limits,
    registry: s.metadata,
    latestVersion: (id) => s.metadata.latestVersion(id),
    commit: (items, guards) => s.committer.commit(items, undefined, true, guards),
    commitEach: (items) => s.committer.commit(items, undefined, false),
    flush: () => writer.flush(),
    removeSnapshots: (id) => snapshots.remove(id),
  });
  s.models = new ReadModels({
    reader,
    index,
    signal: d.signal,
    limits: options.limits,
    checkOpen: d.checkOpen,
    closed: d.closed,
    visibleEnd: () => writer.visibleEnd,
    listed: (id, lastVersion) => firstVisibleVersion(s.metadata.get(id), lastVersion) <= lastVersion,
  });
  s.consumers = new Consumers({
    reader,
    listStreams: (o) => s.models.listStreams(o),
    subscribeLog: (after, fromEnd, filter) => s.models.subscribeLog(after, fromEnd, filter),
    append: (items) => s.committer.commit(items, undefined, true),
    warn: (m) => warn(m, 'ANNALS_CONSUMER'),
  });
  return s;
}
