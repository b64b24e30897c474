import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../lib/format/crc32c.js';
import { DIRECTORY_PAGE_SIZE, decodeDirectoryHeader } from '../lib/format/directory-layout.js';
import type { DirectoryBackend, DirectoryEntry, DirectoryInput, DirectoryReader } from '../lib/index/directory-backend.js';
import { JsDirectoryBackend } from '../lib/index/js-directory.js';
import { NativeDirectoryBackend } from '../lib/index/native-directory.js';
import { CorruptionError, type EngineName, InvalidArgumentError } from '../lib/index.js';
import { nativeAddon } from '../lib/native.js';
import { ENGINES, tempDir } from './helpers.js';

function backendOf(engine: EngineName): DirectoryBackend {
  return engine === 'native'
    ? new NativeDirectoryBackend(nativeAddon() as NonNullable<ReturnType<typeof nativeAddon>>)
    : new JsDirectoryBackend();
}
const BACKENDS = ENGINES.map((e) => [e, backendOf(e)] as const);

/** Entry values derived from the id's index, so checks can recompute them. */
function valuesOf(i: number) {
  return { firstVersion: (i % 4) + 1, lastVersion: (i % 4) + 9, firstPosition: 64 + i * 10, lastPosition: 64 + i * 10 + 5 };
}

function inputOf(ids: string[], values = valuesOf): DirectoryInput {
  const bytes = ids.map((id) => Buffer.from(id, 'utf8'));
  let end = 0;
  const v = ids.map((_, i) => values(i));
  return {
    ids: Buffer.concat(bytes),
    idEnds: Uint32Array.from(bytes, (b) => (end += b.length)),
    firstVersion: Uint32Array.from(v, (x) => x.firstVersion),
    lastVersion: Uint32Array.from(v, (x) => x.lastVersion),
    firstPosition: Float64Array.from(v, (x) => x.firstPosition),
    lastPosition: Float64Array.from(v, (x) => x.lastPosition),
  };
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
/** `ids` in byte order of their UTF-8, each encoded once. */
function sortedByBytes(ids: string[]): string[] {
  const keyed = ids.map((id) => ({ id, bytes: Buffer.from(id, 'utf8') }));
  return keyed.sort((a, b) => Buffer.compare(a.bytes, b.bytes)).map((k) => k.id);
}

/** Ids in a scrambled order: multi-byte UTF-8 (two, three and four bytes), ids that are prefixes of
 * others, characters whose UTF-16 order differs from their byte order (U+1F600 vs U+E000–U+FFFF). */
function mixedIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const k = (i * 7919) % n;
    let id = `s-${k}`;
    if (k % 5 === 1) id += '-été';
    if (k % 7 === 2) id = `😀${id}`;
    if (k % 11 === 3) id = `\uE000${id}`;
    if (k % 13 === 4) id = `\uFFFD${id}`;
    return id;
  });
}

function pageAll(r: DirectoryReader, limit: number, prefix?: string): string[] {
  const out: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = r.page(after, prefix, limit);
    expect(page.length).toBeLessThanOrEqual(limit);
    if (page.length === 0) return out;
    out.push(...page.map((e) => e.streamId));
    after = page.at(-1)?.streamId;
  }
}

async function build(b: DirectoryBackend, ids: string[], name = 'a.dir', values = valuesOf): Promise<string> {
  const dir = tempDir();
  await b.build(dir, name, { fromPosition: 64, toPosition: 1_000_000 }, inputOf(ids, values));
  return path.join(dir, name);
}

describe.each(BACKENDS)('stream directories built by %s', (_builder, builder) => {
  it.each(BACKENDS)('page in byte order and answer gets when read by %s', async (_reader, reader) => {
    const ids = mixedIds(3000);
    const r = reader.open(await build(builder, ids));
    expect(r.header).toMatchObject({ fromPosition: 64, toPosition: 1_000_000, entryCount: 3000, starts: 750 });
    const sorted = sortedByBytes(ids);
    expect(sorted).not.toEqual([...ids].sort()); // UTF-16 order differs
    expect(sorted.at(-1)?.startsWith('😀')).toBe(true);
    for (const limit of [1, 7, 100, 10000]) expect(pageAll(r, limit)).toEqual(sorted);
    for (const i of [0, 1, 2, 3, 4, 1234, 2999]) {
      expect(r.get(ids[i] as string)).toEqual({ streamId: ids[i], ...valuesOf(i) });
    }
    for (const absent of ['', 's-', 's-30000', 'zz', '\uFFFF']) expect(r.get(absent)).toBeUndefined();
    r.close();
  });

  it.each(BACKENDS)('pages from absent ids and by prefix, with and without after (read by %s)', async (_reader, reader) => {
    const ids = mixedIds(2000);
    const r = reader.open(await build(builder, ids));
    const sorted = sortedByBytes(ids);
    const after = (a: string | undefined, prefix: string | undefined, limit: number) =>
      sorted.filter((id) => (a === undefined || byBytes(id, a) > 0) && (prefix === undefined || id.startsWith(prefix))).slice(0, limit);
    const ids_ = (page: DirectoryEntry[]) => page.map((e) => e.streamId);
    for (const a of [undefined, '', 'r', 's-1', 's-15x', 's-999', 's-1999', 's-9', '\uE000', '\uFFFD', '😀', '😀s-9', '\u{10FFFF}']) {
      for (const prefix of [undefined, '', 's-1', 's-12', 's-123', 'q', '😀s-1', '\uE000s']) {
        expect(ids_(r.page(a, prefix, 5))).toEqual(after(a, prefix, 5));
      }
    }
    for (const prefix of ['s-1', 's-19', '😀', '\uFFFDs-1'])
      expect(pageAll(r, 3, prefix)).toEqual(sorted.filter((id) => id.startsWith(prefix)));
    expect(r.page(undefined, 'nothing', 10)).toEqual([]);
    expect(r.page('\u{10FFFF}', undefined, 10)).toEqual([]);
    expect(r.page(undefined, undefined, 0)).toEqual([]);
    for (const bad of [-1, 1.5, 10001, Number.NaN]) expect(() => r.page(undefined, undefined, bad)).toThrow(InvalidArgumentError);
    const loose = r as unknown as { page(a: unknown, p: unknown, l: number): unknown; get(id: unknown): unknown };
    expect(() => loose.page(5, undefined, 1)).toThrow(InvalidArgumentError);
    expect(() => loose.page(undefined, {}, 1)).toThrow(InvalidArgumentError);
    expect(() => loose.get(7)).toThrow(InvalidArgumentError);
    r.close();
  });

  it('holds ids that are prefixes of each other and ids longer than a page', async () => {
    const base = 'x'.repeat(5000);
    const ids = ['a', 'ab', 'abc', 'abd', 'b', base, 'y'.repeat(65535), 'y'.repeat(1024), 'y'.repeat(1025)];
    for (let i = 0; i < 40; i++) ids.push(`${base}${(i * 17) % 40}`);
    const file = await build(builder, ids);
    const h = decodeDirectoryHeader(fs.readFileSync(file).subarray(0, DIRECTORY_PAGE_SIZE));
    expect(h?.longestId).toBe(65535);
    expect(h?.height).toBeGreaterThanOrEqual(2);
    for (const [, reader] of BACKENDS) {
      const r = reader.open(file);
      expect(pageAll(r, 2)).toEqual([...ids].sort(byBytes));
      expect(r.page('a', 'ab', 10).map((e) => e.streamId)).toEqual(['ab', 'abc', 'abd']);
      expect(r.page('ab', 'ab', 10).map((e) => e.streamId)).toEqual(['abc', 'abd']);
      expect(r.page('abc', 'a', 1).map((e) => e.streamId)).toEqual(['abd']);
      expect(r.page(`${base}3`, base, 3).map((e) => e.streamId)).toEqual([`${base}30`, `${base}31`, `${base}32`]);
      for (let i = 0; i < ids.length; i++) expect(r.get(ids[i] as string)?.firstPosition).toBe(64 + i * 10);
      expect(r.get('y'.repeat(65534))).toBeUndefined();
      expect(r.get(`${base}40`)).toBeUndefined();
      r.close();
    }
  });

  it('merges 2 to 5 inputs: first values from the oldest holding an id, last from the newest', async () => {
    for (const k of [2, 3, 5]) {
      const dir = tempDir();
      const inputs: DirectoryReader[] = [];
      // Input j holds ids m-i for i % (j + 2) === 0, at versions j*10+1 .. j*10+5.
      for (let j = 0; j < k; j++) {
        const ids = Array.from({ length: 300 }, (_, i) => i)
          .filter((i) => i % (j + 2) === 0)
          .map((i) => `m-${i}`);
        const v = () => ({ firstVersion: j * 10 + 1, lastVersion: j * 10 + 5, firstPosition: j * 1000, lastPosition: j * 1000 + 500 });
        await builder.build(dir, `in-${j}.dir`, { fromPosition: j * 1000, toPosition: (j + 1) * 1000 }, inputOf(ids.reverse(), v));
        inputs.push(builder.open(path.join(dir, `in-${j}.dir`)));
      }
      await builder.merge(dir, 'm.dir', { fromPosition: 0, toPosition: k * 1000 }, inputs);
      for (const [, reader] of BACKENDS) {
        const merged = reader.open(path.join(dir, 'm.dir'));
        const want: DirectoryEntry[] = [];
        for (let i = 0; i < 300; i++) {
          const holders = Array.from({ length: k }, (_, j) => j).filter((j) => i % (j + 2) === 0);
          if (holders.length === 0) continue;
          const [first, last] = [holders[0] as number, holders.at(-1) as number];
          want.push({
            streamId: `m-${i}`,
            firstVersion: first * 10 + 1,
            lastVersion: last * 10 + 5,
            firstPosition: first * 1000,
            lastPosition: last * 1000 + 500,
          });
        }
        want.sort((a, b) => byBytes(a.streamId, b.streamId));
        const all: DirectoryEntry[] = [];
        for (let page = merged.page(undefined, undefined, 37); page.length > 0; page = merged.page(page.at(-1)?.streamId, undefined, 37))
          all.push(...page);
        expect(all).toEqual(want);
        expect(merged.header).toMatchObject({ fromPosition: 0, toPosition: k * 1000, entryCount: want.length, starts: 150 });
        merged.close();
      }
      // Newest first is refused, as are readers of the other backend.
      await expect(builder.merge(dir, 'r.dir', { fromPosition: 0, toPosition: k * 1000 }, [...inputs].reverse())).rejects.toThrow(
        InvalidArgumentError,
      );
      expect(fs.existsSync(path.join(dir, 'r.dir'))).toBe(false);
      for (const [, other] of BACKENDS) {
        if (other === builder) continue;
        const foreign = other.open(path.join(dir, 'in-0.dir'));
        await expect(builder.merge(dir, 'f.dir', { fromPosition: 0, toPosition: 1000 }, [foreign])).rejects.toThrow(InvalidArgumentError);
        foreign.close();
      }
      for (const r of inputs) r.close();
    }
  });

  it('builds 100k entries and pages through them', async () => {
    const n = 100_000;
    const ids = Array.from({ length: n }, (_, i) => `tenant-${(i * 48271) % 97}/order-${(i * 7919) % n}`);
    const file = await build(builder, ids);
    const sorted = sortedByBytes(ids);
    for (const [, reader] of BACKENDS) {
      const r = reader.open(file);
      expect(r.header.entryCount).toBe(n);
      const all = pageAll(r, 5000);
      expect(all.length).toBe(n);
      expect(all.join('\n') === sorted.join('\n')).toBe(true);
      expect(r.page('tenant-42/order-5', 'tenant-42/', 3).map((e) => e.streamId)).toEqual(
        sorted.filter((id) => id.startsWith('tenant-42/') && byBytes(id, 'tenant-42/order-5') > 0).slice(0, 3),
      );
      expect(r.get(ids[77_777] as string)).toEqual({ streamId: ids[77_777], ...valuesOf(77_777) });
      r.close();
    }
  });

  it('builds an empty directory', async () => {
    const file = await build(builder, []);
    expect(fs.statSync(file).size).toBe(DIRECTORY_PAGE_SIZE);
    for (const [, reader] of BACKENDS) {
      const r = reader.open(file);
      expect(r.header).toMatchObject({ entryCount: 0, starts: 0 });
      expect(r.page(undefined, undefined, 10)).toEqual([]);
      expect(r.get('a')).toBeUndefined();
      r.close();
    }
  });

  it('refuses bad input with INVALID_ARGUMENT and leaves no file', async () => {
    const dir = tempDir();
    const refused = async (input: DirectoryInput, spec = { fromPosition: 0, toPosition: 10 }) => {
      const err = await builder.build(dir, 'x.dir', spec, input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(fs.readdirSync(dir)).toEqual([]);
    };
    await refused(inputOf(['a', 'b', 'a']));
    await refused(inputOf(['a'.repeat(65536)]));
    const bad = (ids: Buffer) => ({ ...inputOf(['?']), ids, idEnds: Uint32Array.of(ids.length) });
    await refused(bad(Buffer.from([0xc3, 0x28]))); // bad continuation byte
    await refused(bad(Buffer.from([0xed, 0xa0, 0x80]))); // a surrogate
    await refused(bad(Buffer.from([0xc0, 0xaf]))); // overlong
    for (const p of [-1, 0.5, Number.NaN, 2 ** 48]) await refused({ ...inputOf(['a']), lastPosition: Float64Array.of(p) });
    await refused({ ...inputOf(['a']), firstVersion: Uint32Array.of(99) });
    await refused({ ...inputOf(['ab', 'cd']), idEnds: Uint32Array.of(3, 2) });
    await refused({ ...inputOf(['ab', 'cd']), idEnds: Uint32Array.of(2, 9) });
    await refused({ ...inputOf(['ab', 'cd']), lastVersion: Uint32Array.of(1) });
    await refused(inputOf([]), { fromPosition: 10, toPosition: 5 });
  });
});

describe('stream directory files', () => {
  it('are byte for byte the same from either engine', async () => {
    const ids = [...mixedIds(5000), 'q'.repeat(9000), `${'q'.repeat(9000)}1`, 'r'.repeat(1025)];
    const files = await Promise.all(BACKENDS.map(([, b]) => build(b, ids)));
    const bytes = files.map((f) => fs.readFileSync(f));
    for (const b of bytes) expect(b.equals(bytes[0] as Buffer)).toBe(true);
    // Merges too.
    const dirs = files.map((f) => path.dirname(f));
    for (const [i, [, b]] of BACKENDS.entries()) {
      const dir = dirs[i] as string;
      const later = (i: number) => {
        const v = valuesOf(i);
        return { ...v, lastVersion: v.lastVersion + 100, lastPosition: v.lastPosition + 1_000_000 };
      };
      await b.build(dir, 'b.dir', { fromPosition: 1_000_000, toPosition: 2_000_000 }, inputOf(mixedIds(3000), later));
      const inputs = ['a.dir', 'b.dir'].map((n) => b.open(path.join(dir, n)));
      await b.merge(dir, 'ab.dir', { fromPosition: 64, toPosition: 2_000_000 }, inputs);
      for (const r of inputs) r.close();
    }
    const merged = dirs.map((d) => fs.readFileSync(path.join(d, 'ab.dir')));
    for (const m of merged) expect(m.equals(merged[0] as Buffer)).toBe(true);
  });

  it.each(BACKENDS)('read as CORRUPTION when damaged, truncated or of another version (read by %s)', async (_name, reader) => {
    const ids = [...mixedIds(1500), 'q'.repeat(9000)];
    const good = await build(new JsDirectoryBackend(), ids);
    const size = fs.statSync(good).size;
    const damaged = (mutate: (b: Buffer) => Buffer): Error | undefined => {
      const file = `${good}.bad`;
      fs.writeFileSync(file, mutate(Buffer.from(fs.readFileSync(good))));
      try {
        const r = reader.open(file);
        try {
          pageAll(r, 10000);
          for (const id of ids) r.get(id);
        } finally {
          r.close();
        }
      } catch (err) {
        return err as Error;
      }
      return undefined;
    };
    // A flip in every page: the header (its checked bytes), leaves, internal and overflow pages.
    for (let page = 0; page < size / DIRECTORY_PAGE_SIZE; page++) {
      for (const at of page === 0 ? [0, 8, 20, 76, 124] : [0, 5, 8, 100, 4000]) {
        const err = damaged((b) => {
          b[page * DIRECTORY_PAGE_SIZE + at] ^= 0x10;
          return b;
        });
        expect(err).toBeInstanceOf(CorruptionError);
        expect((err as CorruptionError).code).toBe('CORRUPTION');
        expect(err?.message).toMatch(new RegExp(`\\.bad at offset ${page * DIRECTORY_PAGE_SIZE}: `));
      }
    }
    expect(damaged((b) => b.subarray(0, size - DIRECTORY_PAGE_SIZE))).toBeInstanceOf(CorruptionError);
    expect(damaged((b) => b.subarray(0, 100))).toBeInstanceOf(CorruptionError);
    expect(damaged((b) => Buffer.concat([b, Buffer.alloc(DIRECTORY_PAGE_SIZE)]))).toBeInstanceOf(CorruptionError);
    const otherVersion = damaged((b) => {
      b[8] = 2;
      b.writeUInt32LE(crc32c(b, 0, 0, 124), 124);
      return b;
    });
    expect(otherVersion).toBeInstanceOf(CorruptionError);
    expect(otherVersion?.message).toMatch(/has format version 2, this build reads 1/);
  });
});
