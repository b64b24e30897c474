/**
 * Command lookups through a kind's chain of segments at its edges: ids whose 48-bit keys collide
 * spread over many segments (key-hash mocked: "clash-" ids share a key, "zero-" and "max-" ids take
 * the smallest and largest keys), and commands with more events than the chain's answer block.
 */
import fs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { SEGMENT_PAGE_SIZE } from '../lib/format/index-layout.js';
import { DuplicateCommandError, type EventStore } from '../lib/index.js';
import { ENGINES, indexFiles, openStore, tempDir } from './helpers.js';

vi.mock('../lib/format/key-hash.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../lib/format/key-hash.js')>();
  const keyOf = (s: string) =>
    s.startsWith('clash-')
      ? { hi: 7, lo: 7 }
      : s.startsWith('zero-')
        ? { hi: 0, lo: 0 }
        : s.startsWith('max-')
          ? { hi: 0xffff, lo: 0xffffffff }
          : real.keyOf(s);
  return { ...real, keyOf };
});

const SMALL = { indexMemtableEntries: 64, maxRecentCommands: 16, maxIndexSegments: 6 };

async function settle(s: EventStore): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
  await (s as any).index.idle();
}

/** Events of command `id`: `n` of them, each naming the id and its index. */
const eventsOf = (id: string, n: number) => Array.from({ length: n }, (_, k) => ({ type: 'T', data: { id, k } }));
const sizeOf = (i: number) => (i % 5 === 0 ? 300 : 1 + (i % 3));

describe.each(ENGINES)('command lookups through the chain at its edges (%s engine)', (engine) => {
  it('finds colliding, smallest-key, largest-key and long commands spread over many segments', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, SMALL);
    const ids: [string, number][] = [];
    for (let i = 0; i < 40; i++) {
      for (const prefix of ['clash', 'zero', 'max', 'plain']) {
        const id = `${prefix}-${i}`;
        const n = sizeOf(i);
        await s.append(`s-${i % 5}`, eventsOf(id, n), { commandId: id });
        ids.push([id, n]);
      }
      for (let f = 0; f < 30; f++) await s.append(`f-${f % 3}`, [{ type: 'F' }], { commandId: `fill-${i}-${f}` });
    }
    const check = async (label: string) => {
      for (const [id, n] of ids) {
        const events = await s.readCommand(id);
        expect(events?.length, `${label} ${id}`).toBe(n);
        expect(
          events?.every((e) => e.commandId === id && (e.data as { id: string }).id === id),
          `${label} ${id}`,
        ).toBe(true);
      }
      for (const prefix of ['clash', 'zero', 'max', 'plain']) expect(await s.readCommand(`${prefix}-absent`)).toBeUndefined();
      for (const [id] of ids.filter((_, k) => k % 7 === 0)) {
        await expect(s.append('dup', [{ type: 'D' }], { commandId: id }), `${label} ${id}`).rejects.toBeInstanceOf(DuplicateCommandError);
      }
    };
    await check('while building');
    await settle(s);
    expect((await s.stats()).index.commandSegments).toBeGreaterThan(1);
    await check('settled');
    await s.close();
    s = await openStore(dir, engine, SMALL);
    await check('reopened');
    expect(await s.readStream('dup')).toEqual([]);
    await s.close();
  });

  it("a follower finds every command while it adopts the writer's segments as they are built and merged", async () => {
    const dir = tempDir();
    const writer = await openStore(dir, engine, SMALL);
    const follower = await openStore(dir, engine, { ...SMALL, readOnly: true, followIntervalMs: 5 });
    const ids: [string, number][] = [];
    for (let round = 0; round < 8; round++) {
      for (let i = round * 25; i < round * 25 + 25; i++) {
        const id = `${['clash', 'zero', 'max', 'plain'][i % 4]}-${i}`;
        const n = i % 23 === 0 ? 280 : 1 + (i % 3);
        await writer.append(`s-${i % 5}`, eventsOf(id, n), { commandId: id });
        ids.push([id, n]);
      }
      const [last] = ids[ids.length - 1] as [string, number];
      for (let t = 0; t < 400 && (await follower.readCommand(last)) === undefined; t++) await new Promise((r) => setTimeout(r, 10));
      for (const [id, n] of ids) {
        const events = await follower.readCommand(id);
        expect(events?.length, `round ${round} ${id}`).toBe(n);
        expect(events?.every((e) => e.commandId === id)).toBe(true);
      }
      expect(await follower.readCommand('clash-absent')).toBeUndefined();
    }
    // The writer's segments reach the follower at its next look after they are built.
    await settle(writer);
    for (let t = 0; t < 400 && (await follower.stats()).index.commandSegments < 2; t++) await new Promise((r) => setTimeout(r, 10));
    expect((await follower.stats()).index.commandSegments).toBeGreaterThan(1);
    for (const [id, n] of ids.filter((_, k) => k % 5 === 0)) expect((await follower.readCommand(id))?.length, id).toBe(n);
    await follower.close();
    await writer.close();
  });
});

describe.each(ENGINES)('command lookups in a read-only store over a damaged command segment (%s engine)', (engine) => {
  it('answer every command, again and again, with no rebuild to replace the damaged segment', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, { ...SMALL, maxIndexSegments: 100 });
    const ids: [string, number][] = [];
    for (let i = 0; i < 120; i++) {
      const id = `${['clash', 'zero', 'max', 'plain'][i % 4]}-${i}`;
      const n = i % 29 === 0 ? 270 : 1 + (i % 3);
      await s.append(`s-${i % 5}`, eventsOf(id, n), { commandId: id });
      ids.push([id, n]);
    }
    await settle(s);
    await s.close();
    const segs = indexFiles(dir, 'command-');
    expect(segs.length).toBeGreaterThan(2);
    // One leaf page of each of two segments damaged (the oldest and a middle one).
    for (const file of [segs[0], segs[Math.floor(segs.length / 2)]] as string[]) {
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.from([0xee]), 0, 1, SEGMENT_PAGE_SIZE + 100);
      fs.closeSync(fd);
    }
    const onWarning = () => {};
    process.on('warning', onWarning);
    try {
      s = await openStore(dir, engine, { ...SMALL, readOnly: true, followIntervalMs: 0 });
      for (let round = 0; round < 3; round++) {
        for (const [id, n] of ids) {
          const events = await s.readCommand(id);
          expect(events?.length, `round ${round} ${id}`).toBe(n);
          expect(events?.every((e) => e.commandId === id)).toBe(true);
        }
        expect(await s.readCommand('clash-absent')).toBeUndefined();
      }
      await s.close();
    } finally {
      process.off('warning', onWarning);
    }
  });
});
