/**
 * A power cut during a chunk's seal: the seal writes the footer and syncs once, so until that sync
 * completes the disk may hold the footer's sector without the unsynced appends before it (which
 * were never acknowledged), and the next chunk does not exist yet. Found by test/powerloss.test.ts
 * (seed 2332, a random image): both engines trusted the last chunk's footer, and the open (or the
 * index replay) ran into zeroes where the footer said records were: CORRUPTION, a store that would
 * not open. The images here are built by hand as such a cut leaves them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHUNK_FOOTER_SIZE, CHUNK_HEADER_SIZE, decodeChunkFooter, encodeCheckpoint, FRAME_FLAG_COMMIT } from '../lib/format/layout.js';
import { scanFrames } from '../lib/format/record-scanner.js';
import { EventStore } from '../lib/index.js';
import { verifyStore } from '../lib/verify.js';
import { chunkPath, collect, ENGINES, MiB, openStore, tempDir } from './helpers.js';

/** A store whose chunk 0 is sealed and chunk 1 begun; the events' data holds their index. */
async function sealedStore(engine: 'native' | 'js'): Promise<string> {
  const dir = tempDir();
  const s = await openStore(dir, engine, { durability: 'none' });
  const pad = 'x'.repeat(2000);
  for (let i = 0; (await s.stats()).chunkCount < 2; i++) await s.append(`s-${i % 5}`, [{ type: 'e', data: { i, pad } }]);
  await s.append('s-0', [{ type: 'e', data: { i: -1, pad } }]);
  await s.close();
  // The next chunk's name was not durable yet, nor the index built past the cut.
  fs.rmSync(chunkPath(dir, 1));
  fs.rmSync(path.join(dir, 'index'), { recursive: true, force: true });
  return dir;
}

/** The ends of chunk 0's appends (COMMIT frames), in order. */
function commitEnds(chunk: Buffer, dataEnd: number): number[] {
  const ends: number[] = [];
  for (let off = CHUNK_HEADER_SIZE; off < dataEnd; ) {
    const len = chunk.readUInt32LE(off);
    off += len;
    if ((chunk[off - len + 9] as number) & FRAME_FLAG_COMMIT) ends.push(off);
  }
  return ends;
}

/**
 * Makes chunk 0 what a power cut during its seal leaves: data durable up to an append boundary
 * near the middle (where the checkpoint points, or no checkpoint), zeroes after it, the footer
 * there. Returns how many events the durable part holds.
 */
function cutDuringSeal(dir: string, checkpoint: boolean): number {
  const file = chunkPath(dir, 0);
  const chunk = fs.readFileSync(file);
  const footer = decodeChunkFooter(chunk.subarray(chunk.length - CHUNK_FOOTER_SIZE));
  if (!footer) throw new Error('chunk 0 is not sealed');
  const ends = commitEnds(chunk, footer.dataEnd);
  const durable = ends[Math.floor(ends.length / 2)] as number;
  chunk.fill(0, durable, footer.dataEnd);
  fs.writeFileSync(file, chunk);
  const cpFile = path.join(dir, 'chunks', 'writer.chk');
  const r = scanFrames(chunk, CHUNK_HEADER_SIZE, durable, 0);
  if (checkpoint) {
    const cp = { durableEnd: durable, generation: r.lastGeneration, tailRecords: r.committedRecords, tailChecksum: r.dataChecksum };
    fs.writeFileSync(cpFile, encodeCheckpoint(cp));
  } else {
    fs.rmSync(cpFile);
  }
  return r.committedRecords;
}

describe.each(ENGINES)('%s engine: a power cut during a seal', (engine) => {
  it.each([
    ['the checkpoint in that chunk', true],
    ['no checkpoint', false],
  ])('a footer whose data never reached the disk is a torn tail (%s): cut, and the store opens', async (_what, checkpoint) => {
    const dir = await sealedStore(engine);
    const kept = cutDuringSeal(dir, checkpoint);
    let s = await openStore(dir, engine);
    const recovery = (await s.stats()).recovery;
    expect(recovery).toMatchObject({ torn: true, tornReason: 'footer without its data', damaged: [] });
    const events = await collect(s.readAll());
    expect(events.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: kept }, (_, i) => i));
    expect((await s.stats()).eventCount).toBe(kept);
    // The chunk is the tail again: appends go on in it, then roll over.
    for (let i = 0; (await s.stats()).chunkCount < 2; i++) await s.append('after', [{ type: 'e', data: { i, pad: 'y'.repeat(2000) } }]);
    const total = (await s.stats()).eventCount;
    await s.close();
    expect(verifyStore(dir).faults).toEqual([]);
    s = await openStore(dir, engine);
    expect((await s.stats()).recovery.torn).toBe(false);
    expect((await collect(s.readAll())).length).toBe(total);
  });

  it('a read-only open serves the durable part and changes nothing', async () => {
    const dir = await sealedStore(engine);
    const kept = cutDuringSeal(dir, true);
    const before = fs.readFileSync(chunkPath(dir, 0));
    const s = await EventStore.open(dir, { engine, readOnly: true, followIntervalMs: 0 });
    expect((await s.stats()).recovery).toMatchObject({ torn: true, tornReason: 'footer without its data' });
    expect((await collect(s.readAll())).length).toBe(kept);
    await s.close();
    expect(fs.readFileSync(chunkPath(dir, 0)).equals(before)).toBe(true);
  });

  it('a seal that completed stays sealed: nothing is cut, every event is there, the next append rolls over', async () => {
    const dir = await sealedStore(engine);
    const chunk = fs.readFileSync(chunkPath(dir, 0));
    const footer = decodeChunkFooter(chunk.subarray(chunk.length - CHUNK_FOOTER_SIZE));
    if (!footer) throw new Error('chunk 0 is not sealed');
    // The checkpoint of the last flush before the seal: the end of chunk 0's data.
    const r = scanFrames(chunk, CHUNK_HEADER_SIZE, footer.dataEnd, 0);
    const cp = { durableEnd: footer.dataEnd, generation: r.lastGeneration, tailRecords: r.committedRecords, tailChecksum: r.dataChecksum };
    fs.writeFileSync(path.join(dir, 'chunks', 'writer.chk'), encodeCheckpoint(cp));
    const s = await openStore(dir, engine);
    const stats = await s.stats();
    expect(stats.recovery.torn).toBe(false);
    expect(stats.eventCount).toBe(footer.recordCount);
    expect(stats.endPosition).toBe(MiB + CHUNK_HEADER_SIZE);
    await s.append('after', [{ type: 'e', data: { i: 0 } }]);
    expect((await s.stats()).chunkCount).toBe(2);
  });
});
