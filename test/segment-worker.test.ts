import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SEGMENT_PAGE_SIZE, type SegmentKind } from '../lib/format/index-layout.js';
import { JsSegmentBackend, jsSegmentJobs } from '../lib/index/js-segments.js';
import { NativeSegmentBackend } from '../lib/index/native-segments.js';
import type { SegmentBackend, SegmentEntries, SegmentReader } from '../lib/index/segment-backend.js';
import { SegmentWorker } from '../lib/index/segment-worker-client.js';
import { AnnalsError, CorruptionError } from '../lib/index.js';
import { nativeAddon } from '../lib/native.js';
import { openStore, tempDir } from './helpers.js';

const KINDS: SegmentKind[] = [1, 2, 3, 4];
const opened: JsSegmentBackend[] = [];

function backend(worker: boolean): JsSegmentBackend {
  const b = new JsSegmentBackend(undefined, worker ? { inThreadBelow: 0 } : { worker: false });
  opened.push(b);
  return b;
}

afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
  vi.restoreAllMocks();
  jsSegmentJobs.inThreadBelow = 16_384;
  jsSegmentJobs.workerFromBudget = 128 * 2 ** 20;
});

/** `n` entries, shuffled: few keys with many colliding (key, seq) pairs, so leaves split runs of
 * one key and equal pairs, and seqs 0 and 1 (the starts of commands and streams). */
function entries(n: number, seed: number): SegmentEntries {
  let s = seed;
  const r = (m: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % m;
  };
  const e = { hi: new Uint32Array(n), lo: new Uint32Array(n), seq: new Uint32Array(n), position: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    e.hi[i] = r(3) * 0x7fff;
    e.lo[i] = (r(Math.ceil(n / 5) + 1) * 0x9e3779b1) >>> 0;
    e.seq[i] = r(4);
    e.position[i] = 64 + r(2 ** 20) * 97;
  }
  return e;
}

const read = (dir: string, name: string) => fs.readFileSync(path.join(dir, name));

describe('the JS engine’s segment worker', () => {
  it('writes the same bytes as a build and a merge on the event loop, for every kind (and as the native engine)', async () => {
    const worker = backend(true);
    const makers: [string, SegmentBackend][] = [
      ['worker', worker],
      ['thread', backend(false)],
    ];
    const addon = nativeAddon();
    if (addon) makers.push(['native', new NativeSegmentBackend(addon)]);
    const root = tempDir();
    for (const kind of KINDS) {
      for (const n of [0, 1, 5000]) {
        const files: Buffer[][] = [];
        for (const [name, b] of makers) {
          const dir = path.join(root, `${name}-${kind}-${n}`);
          fs.mkdirSync(dir);
          const parts = [0, 1, 2].map((i) => ({ name: `p${i}.seg`, e: entries(n, kind * 100 + n + i), from: 64 + i * 1e6 }));
          for (const p of parts) await b.build(dir, p.name, { kind, fromPosition: p.from, toPosition: p.from + 1e6 }, p.e);
          const inputs = parts.map((p) => b.open(path.join(dir, p.name)));
          await b.merge(dir, 'm.seg', { kind, fromPosition: 64, toPosition: 64 + 3e6 }, inputs);
          for (const s of inputs) s.close();
          files.push([...parts.map((p) => read(dir, p.name)), read(dir, 'm.seg')]);
        }
        for (const other of files.slice(1)) {
          for (const [i, f] of other.entries())
            expect(f.equals(files[0]?.[i] as Buffer), `kind ${kind}, ${n} entries, file ${i}`).toBe(true);
        }
      }
    }
    expect(worker.worker?.running).toBe(true);
  });

  it('fails a build into a removed directory with the error a build on the event loop gives', async () => {
    const errors: unknown[] = [];
    const dir = tempDir();
    fs.rmSync(dir, { recursive: true });
    for (const b of [backend(true), backend(false)]) {
      errors.push(await b.build(dir, 'a.seg', { kind: 1, fromPosition: 64, toPosition: 99 }, entries(100, 1)).catch((e: unknown) => e));
      expect(fs.existsSync(dir)).toBe(false);
    }
    const [w, t] = errors as AnnalsError[];
    expect(w).toBeInstanceOf(AnnalsError);
    expect(w?.constructor).toBe(t?.constructor);
    expect([w?.code, w?.message]).toEqual([t?.code, t?.message]);
    expect(w?.message).toMatch(/ENOENT/);
  });

  it('fails a merge of a damaged input with the CorruptionError a merge on the event loop gives, and leaves no file', async () => {
    const errors: unknown[] = [];
    const dir = tempDir();
    const maker = backend(false);
    await maker.build(dir, 'a.seg', { kind: 1, fromPosition: 64, toPosition: 100 }, entries(3000, 7));
    await maker.build(dir, 'b.seg', { kind: 1, fromPosition: 100, toPosition: 200 }, entries(3000, 8));
    const fd = fs.openSync(path.join(dir, 'b.seg'), 'r+');
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, 3 * SEGMENT_PAGE_SIZE + 100); // a leaf's entries
    fs.closeSync(fd);
    for (const b of [backend(true), backend(false)]) {
      const inputs: SegmentReader[] = ['a.seg', 'b.seg'].map((n) => b.open(path.join(dir, n)));
      errors.push(await b.merge(dir, 'ab.seg', { kind: 1, fromPosition: 64, toPosition: 200 }, inputs).catch((e: unknown) => e));
      for (const s of inputs) s.close();
      expect(fs.readdirSync(dir).sort()).toEqual(['a.seg', 'b.seg']);
    }
    const [w, t] = errors as CorruptionError[];
    expect(w).toBeInstanceOf(CorruptionError);
    expect(t).toBeInstanceOf(CorruptionError);
    expect([w?.code, w?.message, w?.fatal]).toEqual([t?.code, t?.message, t?.fatal]);
  });

  it('does a build again on the event loop when the worker dies under it, and every later one', async () => {
    const dir = tempDir();
    const b = backend(true);
    const e = entries(300_000, 3);
    await b.build(dir, 'first.seg', { kind: 1, fromPosition: 64, toPosition: 99 }, entries(10, 1)); // the worker is up
    const building = b.build(dir, 'a.seg', { kind: 1, fromPosition: 64, toPosition: 99 }, e);
    await b.worker?.kill();
    await building;
    expect(b.worker?.running).toBe(false);
    await b.build(dir, 'b.seg', { kind: 1, fromPosition: 64, toPosition: 99 }, e);
    const t = backend(false);
    await t.build(dir, 'c.seg', { kind: 1, fromPosition: 64, toPosition: 99 }, e);
    expect(read(dir, 'a.seg').equals(read(dir, 'c.seg'))).toBe(true);
    expect(read(dir, 'b.seg').equals(read(dir, 'c.seg'))).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('a JS-engine store whose index jobs run in the worker', () => {
  it('closes while its last build is in the worker, and the reopened store finds every event and command', async () => {
    jsSegmentJobs.inThreadBelow = 0;
    jsSegmentJobs.workerFromBudget = 0;
    const run = vi.spyOn(SegmentWorker.prototype, 'run');
    const dir = tempDir();
    // Small memtables: builds and merges while appending, and the last build at close.
    let store = await openStore(dir, 'js', { memoryBudget: 4 * 2 ** 20 });
    const streams = 50;
    for (let i = 0; i < 300; i++) {
      const events = Array.from({ length: 100 }, (_, k) => ({ type: `t${k % 3}`, data: { i, k } }));
      await store.append(`s-${i % streams}`, events, { commandId: `c-${i}` });
    }
    const before = (await store.stats()).index;
    expect(before.segmentBuilds).toBeGreaterThan(0);
    await store.close();
    expect(run.mock.results.length).toBeGreaterThan(0);
    for (const r of run.mock.results) await expect(r.value).resolves.toBe(true);
    store = await openStore(dir, 'js', { memoryBudget: 4 * 2 ** 20 });
    expect((await store.stats()).index.memtableEntries).toBe(0); // all in segments: nothing replayed
    for (const s of [0, 7, streams - 1]) {
      const events = await store.readStream(`s-${s}`);
      expect(events.length).toBe((300 / streams) * 100);
      expect(events.map((ev) => ev.version)).toEqual(Array.from({ length: events.length }, (_, v) => v + 1));
    }
    await expect(store.append('s-0', [{ type: 't', data: {} }], { commandId: 'c-123' })).rejects.toMatchObject({
      code: 'DUPLICATE_COMMAND',
    });
  });
});

describe.each([
  ['in the worker', 0],
  ['on the event loop', Number.POSITIVE_INFINITY],
])('a JS-engine store whose merges meet a damaged segment, jobs %s', (_name, inThreadBelow) => {
  it('warns, answers from the log and rebuilds the segment, as on the event loop', async () => {
    jsSegmentJobs.inThreadBelow = inThreadBelow;
    jsSegmentJobs.workerFromBudget = 0;
    const run = vi.spyOn(SegmentWorker.prototype, 'run');
    const dir = tempDir();
    const small = { indexMemtableEntries: 50, maxIndexSegments: 4 };
    let s = await openStore(dir, 'js', { ...small, maxIndexSegments: 100 });
    for (let i = 0; i < 60; i++) await s.append(`s-${i % 4}`, [{ type: 'T' }, { type: 'U' }], { commandId: `c-${i}` });
    await s.close();
    const segs = fs.readdirSync(path.join(dir, 'index')).filter((f) => f.startsWith('stream-'));
    expect(segs.length).toBeGreaterThan(2);
    // Damage every tree page of the oldest stream segment: the next merge reads it.
    const file = path.join(dir, 'index', segs.sort()[0] as string);
    const fd = fs.openSync(file, 'r+');
    for (let off = SEGMENT_PAGE_SIZE + 50; off < fs.statSync(file).size - SEGMENT_PAGE_SIZE; off += SEGMENT_PAGE_SIZE) {
      fs.writeSync(fd, Buffer.from([0xee]), 0, 1, off);
    }
    fs.closeSync(fd);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      s = await openStore(dir, 'js', small);
      for (let i = 60; i < 120; i++) await s.append(`s-${i % 4}`, [{ type: 'T' }, { type: 'U' }], { commandId: `c-${i}` });
      for (let k = 0; k < 4; k++)
        expect((await s.readStream(`s-${k}`)).map((e) => e.version)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      await expect(s.append('s-0', [{ type: 'T' }], { commandId: 'c-3' })).rejects.toMatchObject({ code: 'DUPLICATE_COMMAND' });
      // biome-ignore lint/suspicious/noExplicitAny: test reaches into the private index
      await (s as any).index.idle();
      await new Promise((r) => setImmediate(r));
      expect((await s.stats()).index.brokenSegments).toBe(0);
      // The merge's CorruptionError, then the lookup's, then the rebuild.
      expect(warnings.some((w) => /index maintenance failed, will retry: index segment .* bad page/.test(w))).toBe(true);
      expect(warnings.some((w) => /rebuilt from the log/.test(w))).toBe(true);
      await s.close();
      s = await openStore(dir, 'js', small);
      for (let k = 0; k < 4; k++) expect((await s.readStream(`s-${k}`)).length).toBe(60);
    } finally {
      process.off('warning', onWarning);
    }
    if (inThreadBelow === 0) expect(run.mock.results.length).toBeGreaterThan(0);
    else expect(run).not.toHaveBeenCalled();
  });
});

describe('which JS-engine stores have a segment worker', () => {
  it('none at the default budget (its V8 instance would cost more than the budget), one from 128 MiB', async () => {
    const backendOf = (s: unknown) => (s as { index: { o: { catalog: { backend: JsSegmentBackend } } } }).index.o.catalog.backend;
    const small = await openStore(tempDir(), 'js');
    expect(backendOf(small).worker).toBeUndefined();
    await small.close();
    const large = await openStore(tempDir(), 'js', { memoryBudget: 128 * 2 ** 20 });
    expect(backendOf(large).worker).toBeDefined();
    await large.close();
  });
});
