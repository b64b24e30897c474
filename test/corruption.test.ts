import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../lib/format/crc32c.js';
import { BODY_FIXED_SIZE } from '../lib/format/record-codec.js';
import { CorruptionError, type EventStore, type RecordedEvent } from '../lib/index.js';
import { verifyStore } from '../lib/verify.js';
import { collect, ENGINES, MiB, openStore, tempDir } from './helpers.js';

const OPTS = { indexMemtableEntries: 200, maxIndexSegments: 8 };
const STREAMS = 6;
const APPENDS = 240;

/** A closed store: ~3 chunks, index segments, a snapshot per stream. */
async function makeStore(engine: 'native' | 'js'): Promise<string> {
  const dir = tempDir();
  const s = await openStore(dir, engine, OPTS);
  for (let i = 0; i < APPENDS; i++) {
    await s.append(`s-${i % STREAMS}`, [{ type: 'T', data: { i, pad: 'x'.repeat(10_000) } }], { commandId: `c-${i}` });
  }
  // Each snapshot holds what the fold below computes at version 10: 10 events counted.
  for (let k = 0; k < STREAMS; k++) await s.saveSnapshot(`s-${k}`, 10, 10);
  await s.close();
  return dir;
}

function files(dir: string, sub: string, ext: string): string[] {
  const root = path.join(dir, sub);
  return fs
    .readdirSync(root, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => path.join(root, f));
}

/** The n-th index segment file of a kind (stream, command, category, type), by name order. */
function segment(dir: string, kind: string, n: number): string {
  return files(dir, 'index', '.seg').filter((f) => path.basename(f).startsWith(`${kind}-`))[n] as string;
}

function flip(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, offset);
  b[0] = (b[0] as number) ^ 0x10;
  fs.writeSync(fd, b, 0, 1, offset);
  fs.closeSync(fd);
}

function zeroPage(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, offset);
  fs.closeSync(fd);
}

async function readEverything(s: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for (let k = 0; k < STREAMS; k++) out.push(...(await s.readStream(`s-${k}`)));
  return out;
}

type Injection = [name: string, inject: (dir: string) => void, expectOpen: 'fails' | 'serves-with-corruption' | 'repairs'];

const injections: Injection[] = [
  ['bit flip in a sealed chunk record', (d) => flip(files(d, 'chunks', '.chunk')[0] as string, 5000), 'serves-with-corruption'],
  ['zeroed page in a sealed chunk', (d) => zeroPage(files(d, 'chunks', '.chunk')[1] as string, 8192), 'serves-with-corruption'],
  [
    'bit flip in the tail chunk before the checkpoint',
    (d) => flip(files(d, 'chunks', '.chunk').at(-1) as string, 300),
    'serves-with-corruption',
  ],
  ['truncated sealed chunk', (d) => fs.truncateSync(files(d, 'chunks', '.chunk')[0] as string, MiB / 2), 'fails'],
  ['deleted middle chunk', (d) => fs.rmSync(files(d, 'chunks', '.chunk')[1] as string), 'fails'],
  ['damaged chunk footer', (d) => flip(files(d, 'chunks', '.chunk')[0] as string, MiB - 30), 'fails'],
  ['bit flip in an index segment leaf', (d) => flip(segment(d, 'stream', 0), 4096 + 200), 'repairs'],
  ['zeroed page in an index segment', (d) => zeroPage(segment(d, 'command', 0), 4096), 'repairs'],
  ['truncated index segment', (d) => fs.truncateSync(segment(d, 'stream', 0), 5000), 'repairs'],
  ['bit flip in a category segment leaf', (d) => flip(segment(d, 'category', 0), 4096 + 200), 'repairs'],
  ['zeroed page in a type segment', (d) => zeroPage(segment(d, 'type', 0), 4096), 'repairs'],
  ['bit flip in a stream directory page', (d) => flip(files(d, 'index', '.dir')[0] as string, 4096 + 300), 'repairs'],
  [
    'deleted middle index segment',
    (d) => fs.rmSync(files(d, 'index', '.seg').filter((f) => path.basename(f).startsWith('stream-'))[1] as string),
    'repairs',
  ],
  ['bit flip in a snapshot', (d) => flip(files(d, 'snapshots', '.snap')[0] as string, 40), 'repairs'],
  ['truncated snapshot', (d) => fs.truncateSync(files(d, 'snapshots', '.snap')[1] as string, 20), 'repairs'],
];

describe.each(ENGINES)('corruption (%s engine)', (engine) => {
  it('a freshly written store verifies clean', async () => {
    const dir = await makeStore(engine);
    const report = verifyStore(dir);
    expect(report.faults).toEqual([]);
    expect(report).toMatchObject({ ok: true, records: APPENDS, snapshots: STREAMS });
    expect(report.segments).toBeGreaterThan(2);
    expect(report.indexEntries).toBe(4 * APPENDS); // stream, command, category and type entries
  });

  it.each(injections)('%s: verify finds it; the store refuses or repairs, never serves it', async (_name, inject, expectOpen) => {
    const dir = await makeStore(engine);
    inject(dir);
    const report = verifyStore(dir, { chunkSize: MiB });
    expect(report.ok).toBe(false);
    expect(report.faults.length).toBeGreaterThan(0);
    expect(report.faults[0]?.file.startsWith(dir)).toBe(true);
    if (expectOpen === 'fails') {
      await expect(openStore(dir, engine, OPTS)).rejects.toBeInstanceOf(CorruptionError);
      return;
    }
    const s = await openStore(dir, engine, OPTS);
    if (expectOpen === 'serves-with-corruption') {
      // Whatever is read is intact; the damaged record is refused with CORRUPTION, never served.
      await expect(readEverything(s)).rejects.toBeInstanceOf(CorruptionError);
      await expect(collect(s.readAll())).rejects.toBeInstanceOf(CorruptionError);
      return;
    }
    // Indexes and snapshots are caches of the log: answers stay right and the damage is repaired.
    const events = await readEverything(s);
    expect(events).toHaveLength(APPENDS);
    for (let k = 0; k < STREAMS; k++) {
      const folded = await s.aggregate(`s-${k}`, { initialState: 0, evolve: (n: number) => n + 1 });
      expect(folded).toEqual({ version: APPENDS / STREAMS, state: APPENDS / STREAMS });
    }
    for (let i = 0; i < APPENDS; i++) expect((await s.readCommand(`c-${i}`))?.length).toBe(1);
    expect((await collect(s.readCategory('s'))).length).toBe(APPENDS);
    expect((await collect(s.readByType('T', { direction: 'backward' }))).length).toBe(APPENDS);
    expect((await s.listStreams()).streams.map((x) => x.streamId)).toEqual([...Array(STREAMS).keys()].map((k) => `s-${k}`));
    await s.close(); // waits for the background rebuilds
    const after = verifyStore(dir);
    expect(after.faults).toEqual([]);
  });
});

// Frame header, then the body's back-pointer and timestamp (record-codec.ts).
const VERSION_AT = 16 + 12;

describe.each(ENGINES)('records whose checksums hold but whose versions do not (%s engine)', (engine) => {
  it('replaying them at open fails with CorruptionError, not a crash', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
    const r = await s.append('a', [{ type: 'T' }, { type: 'T' }]);
    await s.close();
    // Rewrite version 2 as 5 and fix the frame's CRC, as a buggy writer might have; without the
    // index the whole log is replayed at open.
    const chunk = path.join(dir, 'chunks', '00000000.chunk');
    const bytes = fs.readFileSync(chunk);
    const f = r.position;
    const len = bytes.readUInt32LE(f);
    bytes.writeUInt32LE(5, f + VERSION_AT);
    bytes.writeUInt32LE(crc32c(bytes, 0, f + 8, f + len), f + 4);
    fs.writeFileSync(chunk, bytes);
    fs.rmSync(path.join(dir, 'index'), { recursive: true, force: true });
    await expect(openStore(dir, engine)).rejects.toBeInstanceOf(CorruptionError);
    // The failed open released the store: put the record back and it opens.
    bytes.writeUInt32LE(2, f + VERSION_AT);
    bytes.writeUInt32LE(crc32c(bytes, 0, f + 8, f + len), f + 4);
    fs.writeFileSync(chunk, bytes);
    const again = await openStore(dir, engine);
    expect((await again.readStream('a')).map((e) => e.version)).toEqual([1, 2]);
  });

  it('refuses a record whose field lengths do not fill its frame with CorruptionError', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
    await s.append('a', [{ type: 'T', data: { x: 1 } }, { type: 'T' }]);
    const f = (await s.readEvent('a', 1))?.position as number;
    await s.close();
    // The stream id's length varint (the first after the fixed body) claims one byte more.
    const chunk = path.join(dir, 'chunks', '00000000.chunk');
    const bytes = fs.readFileSync(chunk);
    const len = bytes.readUInt32LE(f);
    bytes[f + 16 + BODY_FIXED_SIZE] = (bytes[f + 16 + BODY_FIXED_SIZE] as number) + 1;
    bytes.writeUInt32LE(crc32c(bytes, 0, f + 8, f + len), f + 4);
    fs.writeFileSync(chunk, bytes);
    const again = await openStore(dir, engine);
    const err = await again.readEvent('a', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as Error).message).toContain(`position ${f}`);
    expect((await again.readEvent('a', 2))?.type).toBe('T');
    expect(verifyStore(dir).faults).toContainEqual({ file: chunk, offset: f, problem: 'damaged record body' });
  });

  it('refuses a JSON payload that does not parse with CorruptionError naming its record, in every read', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine);
    await s.append(
      'a',
      Array.from({ length: 6 }, (_, i) => ({ type: 'T', data: { mark: `zz-${i}` }, metadata: { m: i } })),
    );
    const f = (await s.readEvent('a', 4))?.position as number;
    await s.close();
    // Event 4's data loses its closing brace (same length, checksum made to match): text that no
    // JSON.parse takes, between neighbours whose payloads would be parsed with it.
    const chunk = path.join(dir, 'chunks', '00000000.chunk');
    const bytes = fs.readFileSync(chunk);
    const len = bytes.readUInt32LE(f);
    const text = bytes.indexOf('{"mark":"zz-3"}', f);
    expect(text).toBeGreaterThan(f);
    expect(text).toBeLessThan(f + len);
    bytes[text + '{"mark":"zz-3"}'.length - 1] = ','.charCodeAt(0);
    bytes.writeUInt32LE(crc32c(bytes, 0, f + 8, f + len), f + 4);
    fs.writeFileSync(chunk, bytes);
    const again = await openStore(dir, engine);
    const err = await again.readStream('a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as Error).message).toContain(`position ${f}: its JSON payload does not parse`);
    expect((await again.readStream('a', { fromVersion: 5 })).map((e) => e.data)).toEqual([{ mark: 'zz-4' }, { mark: 'zz-5' }]);
    expect((await again.readEvent('a', 3))?.metadata).toEqual({ m: 2 });
    await expect(again.readEvent('a', 4)).rejects.toBeInstanceOf(CorruptionError);
    // The global log gives the events before the damaged one, then the error.
    const seen: unknown[] = [];
    const all = (async () => {
      for await (const e of again.readAll()) seen.push(e.data);
    })();
    await expect(all).rejects.toBeInstanceOf(CorruptionError);
    expect(seen).toEqual([0, 1, 2].map((i) => ({ mark: `zz-${i}` })));
    await again.close();
  });

  it('verify reports chunks whose store identities disagree, and derived ids in a chunk without one', async () => {
    const dir = await makeStore(engine);
    const second = files(dir, 'chunks', '.chunk')[1] as string;
    const restamp = (file: string, edit: (h: Buffer) => void) => {
      const b = fs.readFileSync(file);
      edit(b);
      b.writeUInt32LE(crc32c(b, 0, 0, 60), 60);
      fs.writeFileSync(file, b);
    };
    expect(verifyStore(dir).faults).toEqual([]);
    const problemsOf = (file: string) =>
      verifyStore(dir)
        .faults.filter((f) => f.file === file)
        .map((f) => f.problem);
    const original = fs.readFileSync(second);
    restamp(second, (h) => h.writeUInt32LE((h.readUInt32LE(40) % 1000) + 1, 40));
    expect(problemsOf(second).some((p) => p.startsWith('store identity'))).toBe(true);
    // Version 2 headers carry no identity: the derived ids in that chunk have nothing to come from.
    fs.writeFileSync(second, original);
    restamp(second, (h) => {
      h[8] = 2;
    });
    expect(problemsOf(second)).toContain('chunk has no store identity, but an earlier chunk has one');
    expect(problemsOf(second)).toContain('record derives its id, but its chunk has no store identity');
  });
});
