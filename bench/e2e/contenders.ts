/**
 * The end-to-end contenders: annals (native, js) and what a Node developer would embed instead,
 * each enforcing the same rules itself: an event's stream version must be the next one, and a
 * command id is stored once. Each contender runs in its own process (worker.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { EventStore, type StoreOptions } from '../../lib/index.js';
import { AnnalsPostgresContender, EmmettPostgresContender } from './pg-contenders.js';

export interface BenchEvent {
  stream: string;
  /** The version the stream must be at before this event. */
  expected: number;
  commandId: string;
  type: string;
  data: Record<string, unknown>;
}

export interface Contender {
  open(dir: string): Promise<void>;
  /** One durable transaction holding every event. */
  appendBatch(events: BenchEvent[]): Promise<void>;
  readStream(stream: string): Promise<unknown[]>;
  readEvent(stream: string, version: number): Promise<unknown>;
  readCommand(commandId: string): Promise<unknown>;
  close(): Promise<void>;
  /** False for a store without command ids: its command-id phases are not run. */
  readonly commandIds?: boolean;
  /** Bytes the store takes where they are not files in its directory (a database server). */
  bytesOnDisk?(): Promise<number>;
  /** Read models, where the store has them: every event of a category in global order, and every
   * stream listed 100 per page; each returns how many it read. */
  readCategory?(category: string): Promise<number>;
  listStreams?(): Promise<number>;
  /** The same two as plain SQL on the store's own tables and indexes, on the same server: what the
   * database gives without the store in between. */
  sqlReadCategory?(category: string): Promise<number>;
  sqlListStreams?(): Promise<number>;
  /** What the store says of its index and memory (ANNALS_BENCH_TRACE), one line. */
  traceLine?(): Promise<string>;
}

class AnnalsContender implements Contender {
  private store!: EventStore;
  constructor(private readonly engine: 'native' | 'js') {}
  async open(dir: string) {
    // ANNALS_BENCH_MEMORY_BUDGET (bytes): the budget's effect on the workload (docs/benchmarks.md);
    // ANNALS_BENCH_STORE_OPTIONS (JSON): other options, for profiling.
    const budget = process.env.ANNALS_BENCH_MEMORY_BUDGET;
    const more = process.env.ANNALS_BENCH_STORE_OPTIONS;
    this.store = await EventStore.open(dir, {
      engine: this.engine,
      ...(budget ? { memoryBudget: Number(budget) } : {}),
      ...(more ? (JSON.parse(more) as StoreOptions) : {}),
    });
  }
  async appendBatch(events: BenchEvent[]) {
    if (events.length === 1) {
      const e = events[0] as BenchEvent;
      await this.store.append(e.stream, [{ type: e.type, data: e.data }], { expectedVersion: e.expected, commandId: e.commandId });
      return;
    }
    await this.store.appendMany(
      events.map((e) => ({
        streamId: e.stream,
        events: [{ type: e.type, data: e.data }],
        expectedVersion: e.expected,
        commandId: e.commandId,
      })),
    );
  }
  readStream(stream: string) {
    return this.store.readStream(stream);
  }
  readEvent(stream: string, version: number) {
    return this.store.readEvent(stream, version);
  }
  async traceLine() {
    const s = await this.store.stats();
    const { index, memory } = s as unknown as {
      index: Record<string, number>;
      memory: { parts: Record<string, { entries: number; limit: number }> };
    };
    const parts = Object.entries(memory.parts).map(([k, p]) => `${k} ${p.entries}/${p.limit}`);
    return `segments ${index.streamSegments}s/${index.commandSegments}c, frozen ${index.frozenMemtables}, builds ${index.segmentBuilds}, merges ${index.segmentMerges}; ${parts.join(', ')}`;
  }
  readCommand(commandId: string) {
    return this.store.readCommand(commandId);
  }
  close() {
    return this.store.close();
  }
}

class SqliteContender implements Contender {
  // biome-ignore lint/suspicious/noExplicitAny: better-sqlite3 is a bench-only peer loaded dynamically
  private db: any;
  // biome-ignore lint/suspicious/noExplicitAny: prepared statements of the peer
  private st: Record<string, any> = {};
  // biome-ignore lint/suspicious/noExplicitAny: the peer's transaction wrapper
  private tx: any;
  constructor(private readonly synchronous: 'FULL' | 'NORMAL') {}
  async open(dir: string) {
    const Database = (await import('better-sqlite3')).default;
    this.db = new Database(path.join(dir, 'events.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${this.synchronous}`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS events (
      stream TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
      command_id TEXT NOT NULL UNIQUE, ts INTEGER NOT NULL, PRIMARY KEY (stream, version))`);
    this.st.version = this.db.prepare('SELECT max(version) AS v FROM events WHERE stream = ?');
    this.st.insert = this.db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)');
    this.st.stream = this.db.prepare('SELECT * FROM events WHERE stream = ? ORDER BY version');
    this.st.event = this.db.prepare('SELECT * FROM events WHERE stream = ? AND version = ?');
    this.st.command = this.db.prepare('SELECT * FROM events WHERE command_id = ?');
    this.tx = this.db.transaction((events: BenchEvent[]) => {
      for (const e of events) {
        const v = this.st.version.get(e.stream).v ?? 0;
        if (v !== e.expected) throw new Error(`wrong expected version for ${e.stream}`);
        this.st.insert.run(e.stream, v + 1, e.type, JSON.stringify(e.data), e.commandId, Date.now());
      }
    });
  }
  async appendBatch(events: BenchEvent[]) {
    this.tx(events);
  }
  async readStream(stream: string) {
    return this.st.stream.all(stream).map((r: { data: string }) => ({ ...r, data: JSON.parse(r.data) }));
  }
  async readEvent(stream: string, version: number) {
    const r = this.st.event.get(stream, version);
    return r && { ...r, data: JSON.parse(r.data) };
  }
  async readCommand(commandId: string) {
    const r = this.st.command.get(commandId);
    return r && { ...r, data: JSON.parse(r.data) };
  }
  async close() {
    this.db.close();
  }
}

class LmdbContender implements Contender {
  // biome-ignore lint/suspicious/noExplicitAny: lmdb is a bench-only peer loaded dynamically
  private db: any;
  async open(dir: string) {
    const { open } = await import('lmdb');
    this.db = open({ path: path.join(dir, 'lmdb') });
  }
  async appendBatch(events: BenchEvent[]) {
    await this.db.transaction(() => {
      for (const e of events) {
        const v = this.db.get(['v', e.stream]) ?? 0;
        if (v !== e.expected) throw new Error(`wrong expected version for ${e.stream}`);
        if (this.db.doesExist(['c', e.commandId])) throw new Error(`duplicate command ${e.commandId}`);
        this.db.put(['e', e.stream, v + 1], { type: e.type, data: e.data, commandId: e.commandId, ts: Date.now() });
        this.db.put(['c', e.commandId], [e.stream, v + 1]);
        this.db.put(['v', e.stream], v + 1);
      }
    });
  }
  async readStream(stream: string) {
    return Array.from(
      this.db.getRange({ start: ['e', stream, 0], end: ['e', stream, Number.MAX_SAFE_INTEGER] }),
      (x: { value: unknown }) => x.value,
    );
  }
  async readEvent(stream: string, version: number) {
    return this.db.get(['e', stream, version]);
  }
  async readCommand(commandId: string) {
    const at = this.db.get(['c', commandId]);
    return at && this.db.get(['e', ...at]);
  }
  async close() {
    await this.db.close();
  }
}

class LevelContender implements Contender {
  // biome-ignore lint/suspicious/noExplicitAny: classic-level is a bench-only peer loaded dynamically
  private db: any;
  private chain: Promise<unknown> = Promise.resolve();
  async open(dir: string) {
    const { ClassicLevel } = await import('classic-level');
    this.db = new ClassicLevel(path.join(dir, 'level'), { valueEncoding: 'json' });
    await this.db.open();
  }
  private static key(stream: string, version: number) {
    return `e!${stream}!${String(version).padStart(10, '0')}`;
  }
  appendBatch(events: BenchEvent[]): Promise<void> {
    // Checks and write must not interleave with another append: one at a time, as an app would.
    const run = async () => {
      const ops: { type: 'put'; key: string; value: unknown }[] = [];
      const pending = new Map<string, number>();
      for (const e of events) {
        const v = pending.get(e.stream) ?? (await this.db.get(`v!${e.stream}`)) ?? 0;
        if (v !== e.expected) throw new Error(`wrong expected version for ${e.stream}`);
        if ((await this.db.get(`c!${e.commandId}`)) !== undefined) throw new Error(`duplicate command ${e.commandId}`);
        ops.push({
          type: 'put',
          key: LevelContender.key(e.stream, v + 1),
          value: { type: e.type, data: e.data, commandId: e.commandId, ts: Date.now() },
        });
        ops.push({ type: 'put', key: `c!${e.commandId}`, value: [e.stream, v + 1] });
        ops.push({ type: 'put', key: `v!${e.stream}`, value: v + 1 });
        pending.set(e.stream, v + 1);
      }
      await this.db.batch(ops, { sync: true });
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }
  async readStream(stream: string) {
    return this.db.values({ gte: LevelContender.key(stream, 0), lte: LevelContender.key(stream, 9_999_999_999) }).all();
  }
  async readEvent(stream: string, version: number) {
    return this.db.get(LevelContender.key(stream, version));
  }
  async readCommand(commandId: string) {
    const at = await this.db.get(`c!${commandId}`);
    return at && this.db.get(LevelContender.key(at[0], at[1]));
  }
  async close() {
    await this.db.close();
  }
}

export const CONTENDERS: Record<string, () => Contender> = {
  'annals-native': () => new AnnalsContender('native'),
  'annals-js': () => new AnnalsContender('js'),
  'sqlite-full': () => new SqliteContender('FULL'),
  'sqlite-normal': () => new SqliteContender('NORMAL'),
  lmdb: () => new LmdbContender(),
  'classic-level': () => new LevelContender(),
  'annals-postgres': () => new AnnalsPostgresContender(),
  'emmett-postgresql': () => new EmmettPostgresContender(),
};

export function bytesIn(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).blocks * 512;
  }
  return total;
}
