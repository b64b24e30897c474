import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SEGMENT_PAGE_SIZE } from '../lib/format/index-layout.js';
import { DuplicateCommandError, type EngineName, type EventStore } from '../lib/index.js';
import { ENGINES, indexFiles, openStore, tempDir } from './helpers.js';

/** Waits for the store's background index work (builds, merges, rebuilds). */
async function settle(s: EventStore): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
  await (s as any).index.idle();
}

/** Small memtables and a recent-command set of a few ids: command lookups go to the segments,
 * which are built and merged many times over. */
const SMALL = { indexMemtableEntries: 64, maxRecentCommands: 64, maxIndexSegments: 6 };

async function writeCommands(s: EventStore, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const events = Array.from({ length: 1 + (i % 3) }, (_, k) => ({ type: 'T', data: { i, k } }));
    await s.append(`s-${i % 7}`, events, { commandId: `cmd-${i}` });
  }
}

async function expectCommands(s: EventStore, ids: number[]): Promise<void> {
  for (const i of ids) {
    const events = await s.readCommand(`cmd-${i}`);
    expect(
      events?.map((e) => (e.data as { i: number; k: number }).k),
      `cmd-${i}`,
    ).toEqual(Array.from({ length: 1 + (i % 3) }, (_, k) => k));
    expect(events?.every((e) => e.commandId === `cmd-${i}`)).toBe(true);
  }
}

/** A closed store of 300 commands over several command segments; their files, oldest first. */
async function closedCommandStore(engine: EngineName): Promise<{ dir: string; files: string[] }> {
  const dir = tempDir();
  const s = await openStore(dir, engine, { ...SMALL, maxIndexSegments: 100 });
  await writeCommands(s, 0, 300);
  await settle(s);
  await s.close();
  const files = indexFiles(dir, 'command-');
  expect(files.length).toBeGreaterThan(2);
  return { dir, files };
}

/** Runs `fn` with the messages of the process warnings emitted meanwhile. */
async function withWarnings(fn: (warnings: string[]) => Promise<void>): Promise<void> {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    await fn(warnings);
  } finally {
    process.off('warning', onWarning);
  }
}

describe.each(ENGINES)('command lookups in the segments (%s engine)', (engine) => {
  it('finds every command, and no absent one, while segments are built and merged and after reopening', async () => {
    const dir = tempDir();
    let s = await openStore(dir, engine, SMALL);
    const all = Array.from({ length: 600 }, (_, i) => i);
    for (let part = 0; part < 6; part++) {
      await writeCommands(s, part * 100, part * 100 + 100);
      // Between builds and merges (the chains of segments change under the lookups) and after.
      await expectCommands(
        s,
        all.slice(0, part * 100 + 100).filter((i) => i % 11 === part),
      );
    }
    await settle(s);
    expect((await s.stats()).index.commandSegments).toBeGreaterThan(1);
    await expectCommands(s, all);
    for (let i = 0; i < 200; i++) expect(await s.readCommand(`absent-${i}`)).toBeUndefined();
    await s.close();
    s = await openStore(dir, engine, SMALL);
    await expectCommands(s, all);
    await expect(s.append('s-1', [{ type: 'T' }], { commandId: 'cmd-3' })).rejects.toBeInstanceOf(DuplicateCommandError);
    expect(await s.readCommand('absent-1')).toBeUndefined();
    await s.close();
  });

  it('answers from the log when a command segment has a damaged Bloom filter, and rebuilds it', async () => {
    const { dir, files } = await closedCommandStore(engine);
    // The newest segment's filter, its first byte flipped (its page number is in the header:
    // index-layout.ts).
    const file = files.at(-1) as string;
    const bytes = fs.readFileSync(file);
    const at = bytes.readUInt32LE(52) * SEGMENT_PAGE_SIZE;
    bytes[at] = (bytes[at] as number) ^ 0xff;
    fs.writeFileSync(file, bytes);
    await withWarnings(async (warnings) => {
      const s = await openStore(dir, engine, { ...SMALL, maxIndexSegments: 100 });
      await expectCommands(s, [299, 298, 150, 3, 0]);
      expect(await s.readCommand('absent-1')).toBeUndefined();
      await settle(s);
      expect((await s.stats()).index.brokenSegments).toBe(0);
      await expectCommands(
        s,
        Array.from({ length: 300 }, (_, i) => i),
      );
      await new Promise((r) => setImmediate(r));
      expect(warnings.some((w) => w.includes('Bloom filter'))).toBe(true);
      await s.close();
    });
  });

  it('answers from the log when a command segment has a damaged page, and rebuilds it', async () => {
    const { dir, files } = await closedCommandStore(engine);
    // Every tree page of the oldest command segment damaged (past the header).
    const file = files[0] as string;
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r+');
    for (let off = 4096 + 50; off < size - 4096; off += 4096) fs.writeSync(fd, Buffer.from([0xee]), 0, 1, off);
    fs.closeSync(fd);
    await withWarnings(async (warnings) => {
      const s = await openStore(dir, engine, { ...SMALL, maxIndexSegments: 100 });
      await expectCommands(
        s,
        Array.from({ length: 300 }, (_, i) => i),
      );
      await expect(s.append('s-1', [{ type: 'T' }], { commandId: 'cmd-0' })).rejects.toBeInstanceOf(DuplicateCommandError);
      await settle(s);
      expect((await s.stats()).index.brokenSegments).toBe(0);
      await expectCommands(s, [0, 1, 2, 150, 299]);
      await new Promise((r) => setImmediate(r));
      expect(warnings.some((w) => w.includes('rebuild'))).toBe(true);
      await s.close();
    });
  });
});
