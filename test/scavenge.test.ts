import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../lib/format/crc32c.js';
import type { EventStore, RecordedEvent } from '../lib/index.js';
import { verifyStore } from '../lib/verify.js';
import { chunkPath, collect, ENGINES, openStore, tempDir } from './helpers.js';

/** Small chunks and memtables, so a few hundred events fill several sealed chunks. */
const OPTIONS = { indexMemtableEntries: 200, maxIndexSegments: 4 };
const PAD = 'x'.repeat(2000);

/** `count` events over `streams` streams, interleaved, with ~2 KB payloads (several 1 MiB chunks). */
async function fill(s: EventStore, prefix: string, streams: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await s.append(`${prefix}-${i % streams}`, [{ type: 'Filled', data: { i, pad: PAD } }], { commandId: `${prefix}-cmd-${i}` });
  }
}

const keyOf = (e: RecordedEvent) => `${e.streamId}@${e.version}:${e.position}`;

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

describe.each(ENGINES)('scavenge (%s engine)', (engine) => {
  it('removes deleted streams from sealed chunks, positions unchanged, every read the same before and after a reopen', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, OPTIONS);
    await fill(s, 'order', 4, 2000);
    await s.deleteStream('order-1');
    await s.deleteStream('order-3', { hard: true });
    const before = (await collect(s.readAll())).map(keyOf);
    const stream0 = (await s.readStream('order-0')).map(keyOf);
    expect((await s.stats()).reclaimableBytes).toBeGreaterThan(1_000_000);

    const progress: number[] = [];
    const report = await s.scavenge({ onProgress: (p) => progress.push(p.chunksExamined) });
    expect(report.chunksRewritten).toBeGreaterThan(0);
    expect(report.eventsRemoved).toBeGreaterThan(700);
    expect(report.bytesReclaimed).toBe(report.bytesBefore - report.bytesAfter);
    expect(report.bytesReclaimed).toBeGreaterThan(1_500_000);
    expect(progress.length).toBe(report.chunksExamined);
    expect((await s.stats()).reclaimableBytes).toBe(0);

    for (let round = 0; round < 2; round++) {
      expect((await collect(s.readAll())).map(keyOf)).toEqual(before);
      expect((await s.readStream('order-0')).map(keyOf)).toEqual(stream0);
      expect(await s.readStream('order-1')).toEqual([]);
      expect((await s.readEvent('order-0', 3))?.data).toMatchObject({ i: 8 });
      expect((await s.readCommand('order-cmd-8'))?.[0]?.version).toBe(3);
      expect(await s.readCommand('order-cmd-9')).toBeUndefined();
      // A retry of a command whose events were erased is refused, not written again.
      await expect(s.append('order-1', [{ type: 'Again' }], { commandId: 'order-cmd-9' })).rejects.toMatchObject({
        code: 'DUPLICATE_COMMAND',
        original: { erased: true },
      });
      await expect(s.append('order-3', [{ type: 'Again' }])).rejects.toMatchObject({ code: 'STREAM_DELETED' });
      expect((await collect(s.readCategory('order'))).every((e) => e.streamId === 'order-0' || e.streamId === 'order-2')).toBe(true);
      expect((await s.listStreams()).streams.map((x) => x.streamId)).toEqual(['order-0', 'order-2']);
      await s.close();
      s = await openStore(dir, engine, OPTIONS);
    }
    const v = verifyStore(dir);
    expect(v.faults).toEqual([]);
    // A second scavenge finds nothing more to reclaim.
    const again = await s.scavenge();
    expect(again.chunksRewritten).toBe(0);
    expect(again.bytesReclaimed).toBe(0);
    await s.close();
  });

  it('reads by position continue across removed events: readAll after, subscriptions and consumers spanning a scavenge', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, OPTIONS);
    await fill(s, 'acct', 2, 1200);
    const all = await collect(s.readAll());
    const removed = all.find((e) => e.streamId === 'acct-1' && e.version === 100) as RecordedEvent;
    // A consumer that has read up to a point, and a subscription that will see the scavenge.
    const consumer = s.subscribe({ consumer: 'c1' });
    const seen: RecordedEvent[] = [];
    for await (const e of consumer) {
      seen.push(e);
      if (seen.length === 300) break;
    }
    await s.deleteStream('acct-1');
    await s.scavenge();
    const after = await collect(s.readAll({ after: removed.position }));
    expect(after[0]?.streamId).toBe('acct-0');
    expect(after[0]?.position).toBeGreaterThan(removed.position);
    expect(after.every((e) => e.streamId === 'acct-0')).toBe(true);
    const resumed: RecordedEvent[] = [];
    for await (const e of s.subscribe({ consumer: 'c1' })) {
      resumed.push(e);
      if (resumed.at(-1)?.position === all.at(-1 - 1)?.position || resumed.length >= 1000) break;
    }
    expect(resumed[0]?.position).toBeGreaterThan(seen.at(-1)?.position as number);
    expect(resumed.every((e) => e.streamId === 'acct-0')).toBe(true);
    const fromStart: RecordedEvent[] = [];
    for await (const e of s.subscribe({ after: 0 })) {
      fromStart.push(e);
      if (fromStart.length === 600) break;
    }
    expect(fromStart.map((e) => e.position)).toEqual(all.filter((e) => e.streamId === 'acct-0').map((e) => e.position));
  });

  it('read-only stores open beside the writer keep reading across a scavenge, whether they read before the swap or not', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, OPTIONS);
    await fill(s, 'ro', 2, 1200);
    await s.deleteStream('ro-1');
    await s.flush();
    const expected = (await collect(s.readAll())).map(keyOf);
    const early = await openStore(dir, engine, { ...OPTIONS, readOnly: true });
    const untouched = await openStore(dir, engine, { ...OPTIONS, readOnly: true });
    expect((await collect(early.readAll())).map(keyOf)).toEqual(expected);
    expect((await s.scavenge()).chunksRewritten).toBeGreaterThan(0);
    for (const r of [early, untouched]) {
      expect((await collect(r.readAll())).map(keyOf)).toEqual(expected);
      expect((await r.readStream('ro-0')).length).toBe(600);
      expect(await r.readStream('ro-1')).toEqual([]);
    }
    const late = await openStore(dir, engine, { ...OPTIONS, readOnly: true });
    expect((await collect(late.readAll())).map(keyOf)).toEqual(expected);
    expect((await collect(late.readAll({ after: Number(expected[1]?.split(':')[1]) }))).length).toBe(expected.length - 2);
  });

  it('appends and reads go on while a scavenge runs; what they wrote is all there after', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, OPTIONS);
    await fill(s, 'old', 2, 1500);
    await s.deleteStream('old-0');
    const running = s.scavenge();
    const written: string[] = [];
    for (let i = 0; i < 300; i++) {
      await s.append('live', [{ type: 'Live', data: { i, pad: PAD } }]);
      written.push(`live@${i + 1}`);
      if (i % 50 === 0) expect((await s.readStream('old-1', { limit: 3 })).length).toBe(3);
    }
    const report = await running;
    expect(report.eventsRemoved).toBeGreaterThan(0);
    await s.close();
    s = await openStore(dir, engine, OPTIONS);
    expect((await s.readStream('live')).map((e) => `live@${e.version}`)).toEqual(written);
    expect((await s.readStream('old-1')).length).toBe(750);
    expect(await s.readStream('old-0')).toEqual([]);
  });

  it('erasure is real: no byte of a hard-deleted stream id, data or metadata is left in any file', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, OPTIONS);
    const marker = 'Zq7marker9Xv';
    await s.append(`person-${marker}`, [{ type: 'Registered', data: { name: marker }, metadata: { note: marker } }]);
    await s.append(`person-${marker}`, [{ type: 'Renamed', data: { name: `${marker}!` } }]);
    await fill(s, 'other', 3, 1200);
    await s.deleteStream(`person-${marker}`, { hard: true });
    await s.scavenge();
    await s.close();
    const hits = filesUnder(dir).filter((f) => fs.readFileSync(f).includes(marker));
    expect(hits).toEqual([]);
    s = await openStore(dir, engine, OPTIONS);
    expect(await s.readStream(`person-${marker}`)).toEqual([]);
    expect((await s.readStream('other-0')).length).toBe(400);
  });

  it('a backup of a scavenged store holds every surviving event at its position', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, OPTIONS);
    await fill(s, 'bk', 2, 1200);
    await s.deleteStream('bk-1');
    await s.scavenge();
    const expected = (await collect(s.readAll())).map(keyOf);
    const target = path.join(tempDir(), 'copy');
    await s.backup(target);
    expect(verifyStore(target).faults).toEqual([]);
    const copy = await openStore(target, engine, OPTIONS);
    expect((await collect(copy.readAll())).map(keyOf)).toEqual(expected);
    expect((await copy.readStream('bk-0')).length).toBe(600);
  });

  it('truncation, maxCount and maxAgeMs are reclaimed too', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, OPTIONS);
    await fill(s, 'm', 3, 1500);
    await s.setStreamMetadata('m-0', { truncateBefore: 400 });
    await s.setStreamMetadata('m-1', { maxCount: 10 });
    await s.setStreamMetadata('m-2', { maxAgeMs: 1 });
    await new Promise((r) => setTimeout(r, 5));
    const visible = (await collect(s.readAll())).map(keyOf);
    const report = await s.scavenge();
    expect(report.eventsRemoved).toBeGreaterThan(1000);
    expect((await collect(s.readAll())).map(keyOf)).toEqual(visible);
    expect((await s.readStream('m-0')).map((e) => e.version)[0]).toBe(400);
  });

  it('versions go on after every event of a stream was erased, also when the index is rebuilt from the log', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, OPTIONS);
    await s.append('gone', [{ type: 'A' }, { type: 'A' }, { type: 'A' }]);
    await s.append('aged', [{ type: 'A' }, { type: 'A' }]);
    await s.setStreamMetadata('aged', { maxAgeMs: 1 });
    // Appended after the metadata was written: only the scavenge knows version 3 goes.
    await s.append('aged', [{ type: 'A' }]);
    await s.append('ahead', [{ type: 'A' }]);
    await s.setStreamMetadata('ahead', { truncateBefore: 50 });
    await s.append('ahead', [{ type: 'A' }, { type: 'A' }]); // versions 2, 3: hidden until 50
    await fill(s, 'pad', 2, 1200);
    await s.deleteStream('gone');
    await new Promise((r) => setTimeout(r, 5));
    expect((await s.scavenge()).eventsRemoved).toBeGreaterThanOrEqual(9);
    // The floor is the store's own: the metadata a user reads is what they wrote.
    expect(await s.getStreamMetadata('gone')).toEqual({ truncateBefore: 4 });
    expect(await s.getStreamMetadata('aged')).toEqual({ maxAgeMs: 1 });
    await s.close();
    fs.rmSync(path.join(dir, 'index'), { recursive: true, force: true });
    s = await openStore(dir, engine, OPTIONS);
    for (let round = 0; round < 2; round++) {
      if (round === 0) {
        expect((await s.append('gone', [{ type: 'B' }], { expectedVersion: 'no_stream' })).firstVersion).toBe(4);
        expect((await s.append('aged', [{ type: 'B' }], { expectedVersion: 3 })).firstVersion).toBe(4);
        await expect(s.append('ahead', [{ type: 'B' }], { expectedVersion: 1 })).rejects.toMatchObject({ code: 'WRONG_EXPECTED_VERSION' });
        expect((await s.append('ahead', [{ type: 'B' }], { expectedVersion: 3 })).firstVersion).toBe(4);
      }
      expect((await s.readStream('gone')).map((e) => e.type + e.version)).toEqual(['B4']);
      expect((await s.getStreamMetadata('gone')).truncateBefore).toBe(4);
      await s.close();
      fs.rmSync(path.join(dir, 'index'), { recursive: true, force: true });
      s = await openStore(dir, engine, OPTIONS);
    }
    expect((await s.append('aged', [{ type: 'C' }])).firstVersion).toBe(5);
    await s.close();
  });

  it('a retry of an erased command is refused as before after the index is lost and rebuilt from the log', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, OPTIONS);
    await s.append('late', [{ type: 'A' }, { type: 'A' }], { commandId: 'late-cmd' });
    await fill(s, 'c', 2, 1200);
    await s.deleteStream('c-1');
    expect((await s.scavenge()).chunksRewritten).toBeGreaterThan(0);
    const refusal = async (streamId: string, commandId: string) => {
      const err = await s.append(streamId, [{ type: 'Again' }], { commandId }).then(
        () => undefined,
        (e: { code?: string; original?: unknown }) => e,
      );
      return { code: err?.code, original: err?.original };
    };
    const erased1 = await refusal('c-1', 'c-cmd-1');
    expect(erased1).toMatchObject({ code: 'DUPLICATE_COMMAND', original: { erased: true } });
    // A second scavenge over the scavenged chunks keeps the first one's erased commands.
    await s.deleteStream('late');
    expect((await s.scavenge()).chunksRewritten).toBeGreaterThan(0);
    const erasedLate = await refusal('late', 'late-cmd');
    expect(erasedLate).toMatchObject({ code: 'DUPLICATE_COMMAND', original: { erased: true } });
    expect(await refusal('c-1', 'c-cmd-1')).toEqual(erased1);
    for (let round = 0; round < 2; round++) {
      await s.close();
      fs.rmSync(path.join(dir, 'index'), { recursive: true, force: true });
      s = await openStore(dir, engine, OPTIONS);
      expect(await refusal('c-1', 'c-cmd-1')).toEqual(erased1);
      expect(await refusal('c-1', 'c-cmd-1001')).toMatchObject({ code: 'DUPLICATE_COMMAND', original: { erased: true } });
      expect(await refusal('late', 'late-cmd')).toEqual(erasedLate);
      // Not written again, and a command never seen still is.
      expect(await s.readStream('c-1')).toEqual([]);
      expect(await s.readStream('late')).toEqual([]);
      expect(await refusal('c-0', 'c-cmd-0')).toMatchObject({ code: 'DUPLICATE_COMMAND', original: { streamId: 'c-0', firstVersion: 1 } });
      expect((await s.append('c-0', [{ type: 'New' }], { commandId: `fresh-${round}` })).commandId).toBe(`fresh-${round}`);
    }
    await s.close();
    expect(verifyStore(dir).faults).toEqual([]);
  });

  it('a retry of an erased command is refused while its lost or damaged command segments are being rebuilt', async () => {
    // Regression: a broken command slot answered from the log without the erased commands the
    // scavenged chunks keep, so a retry made before its rebuild finished was written again.
    for (const loss of ['removed', 'damaged']) {
      const dir = tempDir();
      let s = await openStore(dir, engine, OPTIONS);
      await s.append('re', [{ type: 'A' }], { commandId: 're-old' });
      await fill(s, 'c', 2, 1200);
      await s.deleteStream('re');
      await s.append('re', [{ type: 'B' }], { commandId: 're-new' });
      expect((await s.scavenge()).chunksRewritten).toBeGreaterThan(0);
      await s.close();
      const idx = path.join(dir, 'index');
      const files = fs.readdirSync(idx).filter((f) => f.startsWith('command-'));
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        if (loss === 'removed') fs.rmSync(path.join(idx, f));
        else fs.writeFileSync(path.join(idx, f), Buffer.alloc(fs.statSync(path.join(idx, f)).size, 0x5a));
      }
      s = await openStore(dir, engine, OPTIONS);
      // At once, before the rebuild: answered from the log.
      await expect(s.append('x', [{ type: 'Again' }], { commandId: 're-old' }), loss).rejects.toMatchObject({
        code: 'DUPLICATE_COMMAND',
        original: { erased: true },
      });
      await expect(s.append('x', [{ type: 'Again' }], { commandId: 're-new' })).rejects.toMatchObject({
        code: 'DUPLICATE_COMMAND',
        original: { streamId: 're', firstVersion: 2 },
      });
      expect(await s.readStream('x')).toEqual([]);
      await s.close();
    }
  });

  it('reads a scavenged chunk of version 1 (no erased-command section) as before', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, OPTIONS);
    for (let i = 0; i < 1200; i++) await s.append(`v-${i % 2}`, [{ type: 'Filled', data: { i, pad: PAD } }]);
    await s.deleteStream('v-1');
    expect((await s.scavenge()).chunksRewritten).toBeGreaterThan(0);
    const before = (await collect(s.readAll())).map(keyOf);
    await s.close();
    // No removed event carried a command id: the file is version 1's but for the version byte.
    const file = chunkPath(dir, 0);
    const b = fs.readFileSync(file);
    const footer = b.length - 64;
    expect([b[footer + 9], b.readUInt32LE(footer + 36)]).toEqual([2, 0]);
    b[footer + 9] = 1;
    b.writeUInt32LE(crc32c(b, 0, footer, footer + 60), footer + 60);
    fs.writeFileSync(file, b);
    s = await openStore(dir, engine, OPTIONS);
    expect((await collect(s.readAll())).map(keyOf)).toEqual(before);
    await s.append('v-1', [{ type: 'Again' }]);
    expect((await s.scavenge()).chunksExamined).toBeGreaterThan(0);
    expect((await collect(s.readAll())).length).toBe(before.length + 1);
    await s.close();
    expect(verifyStore(dir).faults).toEqual([]);
  });

  it('a version floor never overwrites a metadata change written at the same time', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, OPTIONS);
    await s.append('raced', [{ type: 'A' }, { type: 'A' }, { type: 'A' }]);
    await s.setStreamMetadata('raced', { maxAgeMs: 1 });
    await s.append('raced', [{ type: 'A' }]); // version 4: above the floor the change above kept
    type Lifecycle = { raiseFloors(f: Map<string, number>): Promise<void> };
    const lifecycle = (s as unknown as { s: { lifecycle: Lifecycle } }).s.lifecycle;
    // The user's change is queued when the floor is judged: the floor must not bring back maxAgeMs.
    const changed = s.setStreamMetadata('raced', { maxCount: 7 });
    const writer = (s as unknown as { writer: { queuedBytes: number } }).writer;
    for (let i = 0; i < 20 && writer.queuedBytes === 0; i++) await Promise.resolve();
    expect(writer.queuedBytes).toBeGreaterThan(0);
    await lifecycle.raiseFloors(new Map([['raced', 4]]));
    await changed;
    expect(await s.getStreamMetadata('raced')).toEqual({ maxCount: 7 });
    await s.close();
    const again = await openStore(dir, engine, OPTIONS);
    expect(await again.getStreamMetadata('raced')).toEqual({ maxCount: 7 });
    await again.close();
  });

  it('a store with nothing to reclaim is left as it is', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, OPTIONS);
    await fill(s, 'keep', 2, 800);
    const bytes = fs.readFileSync(path.join(dir, 'chunks', '00000000.chunk'));
    const report = await s.scavenge();
    expect(report).toMatchObject({ chunksRewritten: 0, eventsRemoved: 0, bytesReclaimed: 0, aborted: false });
    expect(fs.readFileSync(path.join(dir, 'chunks', '00000000.chunk')).equals(bytes)).toBe(true);
    await s.setStreamMetadata('keep-0', { maxCount: 100_000 });
    expect((await s.scavenge()).chunksRewritten).toBe(0);
  });

  it('bad input gets INVALID_ARGUMENT and changes nothing; a read-only store refuses', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, OPTIONS);
    await fill(s, 'b', 2, 700);
    await s.deleteStream('b-0');
    const scavenge = s.scavenge.bind(s) as (o: unknown) => Promise<unknown>;
    for (const bad of [null, 5, 'x', { speed: 1 }, { onProgress: 'nope' }, { signal: {} }]) {
      await expect(scavenge(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect((await s.stats()).reclaimableBytes).toBeGreaterThan(0);
    const controller = new AbortController();
    controller.abort();
    expect((await s.scavenge({ signal: controller.signal })).aborted).toBe(true);
    await s.close();
    const ro = await openStore(dir, engine, { ...OPTIONS, readOnly: true });
    await expect(ro.scavenge()).rejects.toMatchObject({ code: 'READ_ONLY' });
  });
});
