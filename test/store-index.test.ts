import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { crc32c } from '../lib/format/crc32c.js';
import { SEGMENT_FORMAT_VERSION } from '../lib/format/index-layout.js';
import { indexClock } from '../lib/index/index-clock.js';
import { DuplicateCommandError, type EngineName, type EventStore, WrongExpectedVersionError } from '../lib/index.js';
import { collect, ENGINES, openStore, tempDir } from './helpers.js';

/** Waits for the store's background index work (builds, merges, rebuilds). */
async function settle(s: EventStore): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
  await (s as any).index.idle();
}

/** A closed store of 100 appends over 4 streams whose index is all in segments (no merges). */
async function closedStoreWithSegments(engine: EngineName): Promise<string> {
  const dir = tempDir();
  const s = await openStore(dir, engine, { indexMemtableEntries: 50, maxIndexSegments: 100 });
  await fill(s, 100, 4);
  await settle(s);
  await s.close();
  return dir;
}

async function fill(s: EventStore, appends: number, streams: number): Promise<void> {
  for (let i = 0; i < appends; i++) {
    await s.append(
      `s-${i % streams}`,
      [
        { type: 'T', data: { i } },
        { type: 'U', data: { i } },
      ],
      { commandId: `c-${i}` },
    );
  }
}

/** Appends `n` events to `stream`, one per call, each holding its version as `data.v`;
 * `want` keeps each stream's version. */
async function appendVersions(s: EventStore, want: Map<string, number>, stream: string, n: number): Promise<void> {
  const base = want.get(stream) ?? 0;
  for (let i = 1; i <= n; i++) await s.append(stream, [{ type: 'T', data: { v: base + i } }]);
  want.set(stream, base + n);
}

function segmentFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'index')).filter((f) => f.endsWith('.seg'));
}

const small = { indexMemtableEntries: 50, maxIndexSegments: 4 };

describe.each(ENGINES)('index (%s engine)', (engine) => {
  it('builds segments as memtables fill, merges them, and reads across segments and memtables', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, small);
    await fill(s, 200, 7);
    await settle(s);
    const stats = await s.stats();
    expect(stats.index.streamSegments).toBeGreaterThan(0);
    expect(stats.index.streamSegments).toBeLessThanOrEqual(4);
    expect(stats.index.commandSegments).toBeLessThanOrEqual(4);
    expect(stats.index.memtableEntries).toBeLessThan(50 + 4);
    expect(stats).toMatchObject({ eventCount: 400, streamCount: 7, commandCount: 200 });
    for (let k = 0; k < 7; k++) {
      const events = await s.readStream(`s-${k}`);
      expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
      expect(events.every((e) => e.streamId === `s-${k}`)).toBe(true);
      expect(await s.streamVersion(`s-${k}`)).toBe(events.length);
    }
    expect((await s.readStream('s-3', { fromVersion: 10, limit: 5 })).map((e) => e.version)).toEqual([10, 11, 12, 13, 14]);
    expect((await s.readStream('s-3', { direction: 'backward', limit: 3 })).map((e) => e.version)).toEqual([58, 57, 56]);
    expect((await s.readCommand('c-5'))?.map((e) => e.data)).toEqual([{ i: 5 }, { i: 5 }]);
    await expect(s.append('s-5', [{ type: 'T' }], { commandId: 'c-5' })).rejects.toBeInstanceOf(DuplicateCommandError);
    const err = await s.append('x', [{ type: 'T' }], { commandId: 'c-1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ original: { streamId: 's-1', firstVersion: 1, lastVersion: 2, commandId: 'c-1' } });
  });

  it('reopens from segment headers and replays only the uncovered tail', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, small);
    await fill(s, 120, 5);
    await settle(s);
    await s.close();
    const t = await openStore(dir, engine, small);
    const stats = await t.stats();
    expect(stats.index.memtableEntries).toBeLessThan(50 + 4);
    expect(stats.index.latestVersionEntries).toBe(0);
    expect(stats).toMatchObject({ eventCount: 240, streamCount: 5, commandCount: 120 });
    expect(await t.streamVersion('s-2')).toBe(48);
    await expect(t.append('s-2', [{ type: 'T' }], { commandId: 'c-7', expectedVersion: 48 })).rejects.toBeInstanceOf(DuplicateCommandError);
    await t.append('s-2', [{ type: 'T' }], { expectedVersion: 48 });
    expect((await t.readStream('s-2')).length).toBe(49);
  });

  it('rebuilds a segment written in another format version (segments are derived data)', async () => {
    const dir = await closedStoreWithSegments(engine);
    // A version-1 header (24-byte entries) with a valid CRC: not damage, an older format.
    const seg = segmentFiles(dir).filter((f) => f.startsWith('stream-'))[0] as string;
    const file = path.join(dir, 'index', seg);
    const bytes = fs.readFileSync(file);
    expect(bytes[8]).toBe(SEGMENT_FORMAT_VERSION);
    bytes[8] = 1;
    bytes.writeUInt32LE(crc32c(bytes, 0, 0, 124), 124);
    fs.writeFileSync(file, bytes);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const t = await openStore(dir, engine, { indexMemtableEntries: 50, maxIndexSegments: 100 });
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(warnings.some((w) => w.includes(`has format version 1, this build reads ${SEGMENT_FORMAT_VERSION}`))).toBe(true);
    for (let k = 0; k < 4; k++) expect((await t.readStream(`s-${k}`)).length).toBe(50);
    await settle(t);
    expect((await t.stats()).index.brokenSegments).toBe(0);
    await t.close();
    expect(fs.readFileSync(file)[8]).toBe(SEGMENT_FORMAT_VERSION);
  });

  it('finds every version of streams begun early, late and in bursts, across many segments', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, { indexMemtableEntries: 40, maxIndexSegments: 100 });
    const want = new Map<string, number>();
    const add = (stream: string, n: number) => appendVersions(s, want, stream, n);
    // "early" spans the whole log; "late" starts in its last tenth; "burst" writes everything in
    // the middle: the guessed segment is right, far too old and too new respectively.
    for (let round = 0; round < 10; round++) {
      await add('early', 8);
      await add(`filler-${round}`, 12);
      if (round === 5) await add('burst', 60);
      if (round === 9) await add('late', 30);
    }
    await settle(s);
    await s.close();
    s = await openStore(dir, engine);
    expect((await s.stats()).index.streamSegments).toBeGreaterThan(5);
    for (const [stream, n] of want) {
      for (let v = 1; v <= n; v++) expect((await s.readEvent(stream, v))?.data).toEqual({ v });
      expect(await s.readEvent(stream, n + 1)).toBeUndefined();
    }
    await s.close();
  });

  it('finds every version when the dictionary knows where streams end (sources after that are skipped)', async () => {
    // Streams that stop early, in the middle and late, while later appends fill memtables and
    // segments: lookups skip every memtable and segment that starts after a stream's newest event,
    // which must never skip one holding its events. Read in the writing session (the dictionary
    // knows every stream), after a reopen once the dictionary has looked each stream up, and while
    // a new version is being written.
    const dir = tempDir();
    let s = await openStore(dir, engine, { indexMemtableEntries: 30, maxIndexSegments: 100 });
    const want = new Map<string, number>();
    const add = (stream: string, n: number) => appendVersions(s, want, stream, n);
    for (let round = 0; round < 12; round++) {
      if (round < 3) await add('stops-early', 7);
      if (round >= 4 && round < 7) await add('stops-midway', 9);
      await add('always', 3);
      await add(`filler-${round}`, 10);
    }
    await add('stops-late', 5);
    const check = async () => {
      for (const [stream, n] of want) {
        for (let v = 1; v <= n; v++) expect((await s.readEvent(stream, v))?.data).toEqual({ v });
        expect(await s.readEvent(stream, n + 1)).toBeUndefined();
        expect((await s.readStream(stream)).map((e) => e.version)).toEqual(Array.from({ length: n }, (_, k) => k + 1));
        expect((await s.readStream(stream, { direction: 'backward', limit: 2 })).map((e) => e.version)).toEqual([n, n - 1]);
        expect((await s.readStream(stream, { fromVersion: 2, limit: 3 })).map((e) => e.version)).toEqual([2, 3, 4]);
      }
    };
    // Unsettled: some entries are still in frozen memtables being built.
    await check();
    await settle(s);
    expect((await s.stats()).index.streamSegments).toBeGreaterThan(4);
    await check();
    await s.close();
    s = await openStore(dir, engine);
    for (const stream of want.keys()) await s.streamVersion(stream);
    await check();
    const pending = s.append('stops-early', [{ type: 'T', data: { v: 22 } }], { expectedVersion: 21 });
    expect((await s.readStream('stops-early')).length).toBeGreaterThanOrEqual(21);
    await pending;
    want.set('stops-early', 22);
    await check();
    await s.close();
  });

  it('finds a command in the memtable after the recent set evicted the bucket it was added in', async () => {
    // The recent set evicts whole one-second buckets of insertions, so a command added just after
    // an eviction's cutoff, into a memtable begun after that cutoff, may be gone from the set while
    // the memtable still holds it: it must still be found, and its retry refused.
    let now = 999_000;
    const clock = vi.spyOn(indexClock, 'now').mockImplementation(() => now);
    try {
      const s = await openStore(tempDir(), engine, { retentionMs: 10_000, indexMemtableEntries: 4 });
      now = 999_500; // opens the recent set's bucket
      await s.append('z', [{ type: 'T' }], { commandId: 'Z' });
      now = 1_000_000; // the fourth entry: the memtable freezes and a new one begins now
      await s.append('a', [{ type: 'T' }], { commandId: 'A' });
      now = 1_000_100; // same bucket, into the new memtable
      await s.append('b', [{ type: 'T', data: { v: 1 } }], { commandId: 'B' });
      await settle(s); // the frozen memtable is a segment now: the oldest memtable is the new one
      now = 1_009_800;
      // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
      (s as any).index.evict(now); // cutoff 999,800: drops the bucket of 999,500 with Z, A and B
      now = 1_009_900;
      expect((await s.readCommand('B'))?.map((e) => e.data)).toEqual([{ v: 1 }]);
      await expect(s.append('b', [{ type: 'T' }], { commandId: 'B' })).rejects.toBeInstanceOf(DuplicateCommandError);
      expect(await s.streamVersion('b')).toBe(1);
      await s.close();
    } finally {
      clock.mockRestore();
    }
  });

  it('looks for a key the dictionaries have not seen only in sources indexed before they began', async () => {
    // Every stream and command written since the store opened is in the dictionaries (until
    // evicted), so a miss there needs no search of the memtables and segments indexed since;
    // segments found at open are searched as before, and so is everything once eviction has
    // dropped what they held.
    let now = 5_000_000;
    const clock = vi.spyOn(indexClock, 'now').mockImplementation(() => now);
    try {
      const dir = tempDir();
      const opts = { indexMemtableEntries: 8, maxIndexSegments: 4, retentionMs: 10_000 };
      let s = await openStore(dir, engine, opts);
      for (let i = 0; i < 40; i++) await s.append(`old-${i % 4}`, [{ type: 'T' }], { commandId: `c-${i}` });
      await settle(s);
      // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
      const probes = (st: EventStore) => vi.spyOn((st as any).index.segments, 'range');
      // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
      const lasts = (st: EventStore) => vi.spyOn((st as any).index.segments, 'lastInSlot');
      let range = probes(s);
      let last = lasts(s);
      await s.append('new-stream', [{ type: 'T' }], { commandId: 'new-command' });
      expect(await s.readCommand('never-written')).toBeUndefined();
      expect(last).not.toHaveBeenCalled();
      expect(range).not.toHaveBeenCalled();
      await s.close();

      now += 1_000;
      s = await openStore(dir, engine, opts);
      range = probes(s);
      last = lasts(s);
      await s.append('another-stream', [{ type: 'T' }], { commandId: 'another-command' });
      expect(last).toHaveBeenCalled(); // the segments from before this open are searched
      await expect(s.append('x', [{ type: 'T' }], { commandId: 'c-3' })).rejects.toBeInstanceOf(DuplicateCommandError);
      expect(await s.streamVersion('old-1')).toBe(10);
      for (let i = 0; i < 40; i++) await s.append(`late-${i % 4}`, [{ type: 'T' }], { commandId: `d-${i}` });
      await settle(s);
      // Merges joined segments from before the open with later ones: those are searched too.
      await expect(s.append('x', [{ type: 'T' }], { commandId: 'c-5' })).rejects.toBeInstanceOf(DuplicateCommandError);
      expect(await s.streamVersion('old-2')).toBe(10);
      now += 20_000;
      // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
      (s as any).index.evict(now); // drops every entry: the segments built since open must be searched again
      expect(await s.streamVersion('late-2')).toBe(10);
      await expect(s.append('late-2', [{ type: 'T' }], { expectedVersion: 9 })).rejects.toThrow(/expected/i);
      await expect(s.append('y', [{ type: 'T' }], { commandId: 'd-7' })).rejects.toBeInstanceOf(DuplicateCommandError);
      expect((await s.readCommand('d-9'))?.[0]?.streamId).toBe('late-1');
      await s.close();
    } finally {
      clock.mockRestore();
    }
  });

  it('keeps dictionary entries by a clock that a wall-clock step back does not move', async () => {
    const s = await openStore(tempDir(), engine, { retentionMs: 60_000 });
    const wall = Date.now();
    const step = vi.spyOn(Date, 'now').mockImplementation(() => wall - 3_600_000); // an hour back
    try {
      await s.append('b', [{ type: 'T' }], { commandId: 'B' });
      expect((await s.readStream('b'))[0]?.timestamp).toBe(wall - 3_600_000); // events keep wall time
    } finally {
      step.mockRestore();
    }
    // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
    (s as any).index.evict(indexClock.now()); // B was added a moment ago: it stays
    const stats = await s.stats();
    expect(stats.index.recentCommandEntries).toBe(1);
    expect(stats.index.latestVersionEntries).toBe(1);
    await s.close();
  });

  it('opens without reading segments: a damaged one is found by the first lookup that needs it', async () => {
    const dir = await closedStoreWithSegments(engine);
    const seg = segmentFiles(dir).filter((f) => f.startsWith('stream-'))[0] as string;
    const file = path.join(dir, 'index', seg);
    fs.writeFileSync(file, Buffer.alloc(fs.statSync(file).size, 0xab)); // not even a header
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    // Read-only: no background check, nothing rebuilt; the open itself touches no segment.
    const t = await openStore(dir, engine, { readOnly: true });
    await new Promise((r) => setImmediate(r));
    expect(warnings.filter((w) => w.includes(seg))).toEqual([]);
    for (let k = 0; k < 4; k++)
      expect((await t.readStream(`s-${k}`)).map((e) => e.version)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(warnings.some((w) => w.includes(`index segment ${seg} is unreadable`))).toBe(true);
    expect((await t.stats()).index.brokenSegments).toBe(1);
    await t.close();
    expect(fs.readFileSync(file)[0]).toBe(0xab);
  });

  it('answers from the log while a damaged or missing segment is rebuilt', async () => {
    const dir = await closedStoreWithSegments(engine);
    const files = segmentFiles(dir);
    const streamSeg = files.filter((f) => f.startsWith('stream-')).sort()[0] as string;
    const commandSeg = files.filter((f) => f.startsWith('command-')).sort()[0] as string;
    // Damage every tree page of one segment (past the header), delete another.
    const file = path.join(dir, 'index', streamSeg);
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r+');
    for (let off = 4096 + 50; off < size - 4096; off += 4096) fs.writeSync(fd, Buffer.from([0xee]), 0, 1, off);
    fs.closeSync(fd);
    fs.rmSync(path.join(dir, 'index', commandSeg));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const t = await openStore(dir, engine, { indexMemtableEntries: 50, maxIndexSegments: 100 });
      for (let k = 0; k < 4; k++) {
        expect((await t.readStream(`s-${k}`)).map((e) => e.version)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      }
      expect((await t.readCommand('c-0'))?.length).toBe(2);
      await expect(t.append('s-0', [{ type: 'T' }], { commandId: 'c-1' })).rejects.toBeInstanceOf(DuplicateCommandError);
      await settle(t);
      expect((await t.stats()).index.brokenSegments).toBe(0);
      expect(segmentFiles(dir)).toContain(commandSeg);
      expect((await t.readStream('s-1')).length).toBe(50);
      await new Promise((r) => setImmediate(r));
      expect(warnings.some((w) => w.includes('rebuilt from the log'))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('evicts dictionary entries after retentionMs; commandLookup memory forgets old commands, disk does not', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, { indexMemtableEntries: 20, retentionMs: 1 });
    await fill(s, 30, 3);
    await settle(s);
    // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
    (s as any).index.evict(indexClock.now() + 10);
    const stats = await s.stats();
    expect(stats.index.latestVersionEntries).toBe(0);
    expect(stats.index.recentCommandEntries).toBe(0);
    expect(await s.streamVersion('s-0')).toBe(20);
    await expect(s.append('z', [{ type: 'T' }], { commandId: 'c-0' })).rejects.toBeInstanceOf(DuplicateCommandError);
    await s.close();
    const m = await openStore(dir, engine, { indexMemtableEntries: 20, retentionMs: 1, commandLookup: 'memory' });
    await settle(m);
    // c-0 lives only in a segment now: with memory lookup it is not found, so it is stored again.
    await m.append('z', [{ type: 'T' }], { commandId: 'c-0' });
    // A command still in memory is found either way.
    await m.append('z', [{ type: 'T' }], { commandId: 'fresh' });
    await expect(m.append('z', [{ type: 'T' }], { commandId: 'fresh' })).rejects.toBeInstanceOf(DuplicateCommandError);
    // readCommand always searches the segments.
    expect((await m.readCommand('c-1'))?.length).toBe(2);
  });

  it('finds every command across memtables that hand their grown command tables on', async () => {
    const dir = tempDir();
    // Memtables of 6,000 entries (3,000 appends of one event and one command) retire while the
    // next fills: each new one takes the retired one's command table.
    const s = await openStore(dir, engine, { indexMemtableEntries: 6000, maxRecentCommands: 100 });
    for (let b = 0; b < 40; b++) {
      await s.appendMany(
        Array.from({ length: 500 }, (_, k) => ({
          streamId: `m-${(b * 500 + k) % 50}`,
          events: [{ type: 'T' }],
          commandId: `k-${b * 500 + k}`,
        })),
      );
      if (b % 10 === 9) await settle(s);
    }
    expect((await s.stats()).index.commandSegments).toBeGreaterThan(1);
    for (let i = 0; i < 20_000; i += 97) {
      await expect(s.append('z', [{ type: 'T' }], { commandId: `k-${i}` }), `k-${i}`).rejects.toBeInstanceOf(DuplicateCommandError);
      expect((await s.readCommand(`k-${i}`))?.length, `k-${i}`).toBe(1);
    }
    expect(await s.readCommand('k-20000')).toBeUndefined();
    await s.close();
  });

  it('bounds the latest-version dictionary at maxRecentStreams; dropped streams keep their versions', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, { indexMemtableEntries: 20, maxRecentStreams: 5 });
    for (let i = 0; i < 40; i++) await s.append(`st-${i % 20}`, [{ type: 'T', data: { i } }], { expectedVersion: Math.floor(i / 20) });
    await settle(s);
    expect((await s.stats()).index.latestVersionEntries).toBeLessThanOrEqual(5);
    // st-0 left the dictionary long ago; its version comes from the memtables and segments.
    expect(await s.streamVersion('st-0')).toBe(2);
    await expect(s.append('st-0', [{ type: 'T' }], { expectedVersion: 1 })).rejects.toBeInstanceOf(WrongExpectedVersionError);
    await s.append('st-0', [{ type: 'T' }], { expectedVersion: 2 });
    await expect(s.append('st-1', [{ type: 'T' }], { expectedVersion: 'no_stream' })).rejects.toBeInstanceOf(WrongExpectedVersionError);
    expect((await s.readStream('st-0')).map((e) => e.version)).toEqual([1, 2, 3]);
    expect((await s.stats()).index.latestVersionEntries).toBeLessThanOrEqual(5);
    await s.close();
  });

  it('bounds the recent-command set at maxRecentCommands; older commands are still found on disk', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, { indexMemtableEntries: 20, maxRecentCommands: 10 });
    await fill(s, 60, 3);
    await settle(s);
    expect((await s.stats()).index.recentCommandEntries).toBe(10);
    // c-0 left the set 50 commands ago and its entries are in a segment: still a duplicate.
    await expect(s.append('z', [{ type: 'T' }], { commandId: 'c-0' })).rejects.toBeInstanceOf(DuplicateCommandError);
    await expect(s.append('z', [{ type: 'T' }], { commandId: 'c-59' })).rejects.toBeInstanceOf(DuplicateCommandError);
    expect((await s.readCommand('c-0'))?.map((e) => e.data)).toEqual([{ i: 0 }, { i: 0 }]);
    expect((await s.readCommand('c-55'))?.length).toBe(2);
    expect(await s.readCommand('c-60')).toBeUndefined();
    await s.append('z', [{ type: 'T' }], { commandId: 'c-60' });
    expect((await s.stats()).index.recentCommandEntries).toBe(10);
    await s.close();
  });

  it('reads index files written by the other engine', async () => {
    for (const other of ENGINES) {
      const dir = tempDir();
      const a = await openStore(dir, other, small);
      await fill(a, 60, 3);
      await settle(a);
      await a.close();
      const b = await openStore(dir, engine, small);
      expect((await b.stats()).index.streamSegments).toBeGreaterThan(0);
      expect((await b.readStream('s-1')).length).toBe(40);
      expect((await collect(b.readAll())).length).toBe(120);
      expect((await b.readCommand('c-3'))?.length).toBe(2);
      await b.close();
    }
  });
});
