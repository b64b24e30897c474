/**
 * The `annals` commands over the read models: every stream (`streams`), a category's and an event
 * type's events (`category`, `type`), the durable consumers with their lag (`consumers`), and the
 * two that change a store: `reset-consumer` and `delete-stream`. The read commands open the store
 * read-only (no lock: beside a running writer), print a page and the flag that reads on; `--json`
 * prints the same page as one JSON object.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { EventStore } from '../event-store.js';
import { eventToJson } from '../server/json-codec.js';
import { checkStoreDir } from '../store-dir.js';
import type { RecordedEvent } from '../types.js';

const DEFAULT_LIMIT = 100;

/** A whole-number flag (its range is the library's to check), or undefined when absent. */
function count(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${flag} must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function readOnly<T>(dir: string, fn: (store: EventStore) => Promise<T>): Promise<T> {
  checkStoreDir(dir, false);
  const store = await EventStore.open(dir, { readOnly: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function writable<T>(dir: string, fn: (store: EventStore) => Promise<T>): Promise<T> {
  checkStoreDir(dir, false);
  const store = await EventStore.open(dir);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const out = (s: string): void => {
  process.stdout.write(s);
};

function streams(program: Command): void {
  program
    .command('streams <dir>')
    .description('list every stream in id order, a page at a time (opens read-only)')
    .option('--prefix <prefix>', 'only ids starting with this')
    .option('--after <id>', 'only ids after this one (the previous page ends with it)')
    .option('--limit <n>', `streams in the page, 1 to 1000 (default ${DEFAULT_LIMIT})`)
    .option('--json', 'print { streams, next } as JSON')
    .action(async (dir: string, o: { prefix?: string; after?: string; limit?: string; json?: boolean }) => {
      const limit = count('--limit', o.limit) ?? DEFAULT_LIMIT;
      const page = await readOnly(dir, (s) => s.listStreams({ prefix: o.prefix, after: o.after, limit }));
      if (o.json) return out(`${JSON.stringify({ streams: page.streams, next: page.next ?? null }, null, 2)}\n`);
      const width = Math.max(6, ...page.streams.map((s) => s.streamId.length));
      out(`${'stream'.padEnd(width)}  ${'version'.padStart(8)}  positions\n`);
      for (const s of page.streams)
        out(`${s.streamId.padEnd(width)}  ${String(s.version).padStart(8)}  ${s.firstPosition}..${s.lastPosition}\n`);
      out(
        page.next === undefined
          ? `${page.streams.length} streams\n`
          : `${page.streams.length} streams; more with --after ${JSON.stringify(page.next)}\n`,
      );
    });
}

function eventLine(e: RecordedEvent): string {
  const data = e.data === undefined ? '' : JSON.stringify(eventToJson(e).data);
  return `${String(e.position).padStart(10)}  ${e.streamId}@${e.version}  ${e.type}  ${data.length > 120 ? `${data.slice(0, 117)}...` : data}\n`;
}

interface ViewFlags {
  after?: string;
  limit?: string;
  backward?: boolean;
  json?: boolean;
}

async function printView(
  dir: string,
  o: ViewFlags,
  read: (s: EventStore, after: number | undefined, limit: number) => AsyncIterable<RecordedEvent>,
) {
  const limit = count('--limit', o.limit) ?? DEFAULT_LIMIT;
  if (limit < 1) throw new InvalidArgumentError('--limit must be at least 1');
  const after = count('--after', o.after);
  const events = await readOnly(dir, async (s) => {
    const got: RecordedEvent[] = [];
    for await (const e of read(s, after, limit + 1)) got.push(e);
    return got;
  });
  const page = events.slice(0, limit);
  const next = events.length > limit ? (page[page.length - 1] as RecordedEvent).position : null;
  if (o.json) return out(`${JSON.stringify({ events: page.map(eventToJson), next }, null, 2)}\n`);
  for (const e of page) out(eventLine(e));
  out(next === null ? `${page.length} events\n` : `${page.length} events; more with --after ${next}\n`);
}

function views(program: Command): void {
  const viewOptions = (c: Command) =>
    c
      .option('--after <position>', 'only events after this position (with --backward: before it)')
      .option('--limit <n>', `events in the page (default ${DEFAULT_LIMIT})`)
      .option('--backward', 'newest first')
      .option('--json', 'print { events, next } as JSON');
  viewOptions(
    program
      .command('category <dir> <category>')
      .description("print a category's events (streams whose id starts with <category>-) in global order (opens read-only)"),
  ).action((dir: string, category: string, o: ViewFlags) =>
    printView(dir, o, (s, after, limit) => s.readCategory(category, { after, limit, direction: o.backward ? 'backward' : 'forward' })),
  );
  viewOptions(
    program.command('type <dir> <type>').alias('types').description('print the events of one event type in global order (opens read-only)'),
  ).action((dir: string, type: string, o: ViewFlags) =>
    printView(dir, o, (s, after, limit) => s.readByType(type, { after, limit, direction: o.backward ? 'backward' : 'forward' })),
  );
}

function consumers(program: Command): void {
  program
    .command('consumers <dir>')
    .description('list the durable consumers with their positions and lag (opens read-only)')
    .option('--json', 'print the list as JSON')
    .action(async (dir: string, o: { json?: boolean }) => {
      const list = await readOnly(dir, (s) => s.listConsumers());
      if (o.json) return out(`${JSON.stringify(list, null, 2)}\n`);
      if (list.length === 0) return out('no durable consumers\n');
      const width = Math.max(8, ...list.map((c) => c.name.length));
      out(`${'consumer'.padEnd(width)}  ${'position'.padStart(10)}  ${'lag'.padStart(9)}  filter\n`);
      for (const c of list) {
        const lag = `${c.lagCapped ? '>=' : ''}${c.lag}`;
        out(
          `${c.name.padEnd(width)}  ${String(c.position).padStart(10)}  ${lag.padStart(9)}  ${c.filter ? JSON.stringify(c.filter) : '-'}\n`,
        );
      }
    });
}

function changes(program: Command): void {
  program
    .command('reset-consumer <dir> <name> <position>')
    .description("move a durable consumer's checkpoint: it resumes after <position> (0: from the start); takes the writer lock")
    .option('--json', 'print { consumer, position } as JSON')
    .action(async (dir: string, name: string, position: string, o: { json?: boolean }) => {
      const p = count('<position>', position) as number;
      await writable(dir, (s) => s.resetConsumer(name, p));
      out(o.json ? `${JSON.stringify({ consumer: name, position: p })}\n` : `consumer ${name} resumes after position ${p}\n`);
    });
  program
    .command('delete-stream <dir> <id>')
    .description(
      'delete a stream: soft (reads as empty; an append recreates it) or --hard (a tombstone refusing appends); takes the writer lock',
    )
    .option('--hard', 'a tombstone: later appends to the stream are refused (STREAM_DELETED)')
    .option('--expected-version <v>', 'only if the stream is at this version')
    .option('--json', 'print { streamId, hard, position } as JSON')
    .action(async (dir: string, id: string, o: { hard?: boolean; expectedVersion?: string; json?: boolean }) => {
      const expectedVersion = count('--expected-version', o.expectedVersion);
      const hard = o.hard === true;
      const r = await writable(dir, (s) => s.deleteStream(id, { hard, ...(expectedVersion === undefined ? {} : { expectedVersion }) }));
      out(
        o.json
          ? `${JSON.stringify({ streamId: id, hard, position: r.position })}\n`
          : `deleted stream ${id} (${hard ? 'hard: a tombstone' : 'soft'}) at position ${r.position}\n`,
      );
    });
}

export function readModelCommands(program: Command): void {
  streams(program);
  views(program);
  consumers(program);
  changes(program);
}
