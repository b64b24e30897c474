import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keyNumberAt } from '../lib/format/key-hash.js';
import type { EventStore, RecordedEvent } from '../lib/index.js';
import { nativeAddon } from '../lib/native.js';
import { NativePasses } from '../lib/scavenge-native.js';
import { type PassRequest, type PassResult, type RuleAnswer, runPass } from '../lib/scavenge-pass.js';
import { RuleCache } from '../lib/scavenge-rule-cache.js';
import { chunkPath, openStore, tempDir } from './helpers.js';

/** The smallest chunks: about 500 events of ~2 KB fill one. */
const CHUNK = 1 << 20;
const PAD = 'x'.repeat(2000);

/** Events of every body shape: JSON and binary data, metadata, explicit ids, command ids. */
async function fill(s: EventStore, streams: number, count: number): Promise<void> {
  for (let i = 0; i < count; i += 25) {
    await s.appendMany(
      Array.from({ length: 25 }, (_, k) => {
        const n = i + k;
        const data = n % 3 === 0 ? new Uint8Array(1500).fill(n & 0xff) : { n, pad: PAD.slice(n % 500) };
        const event = {
          type: `T${n % 4}`,
          data,
          ...(n % 5 === 0 ? { metadata: { m: n } } : {}),
          ...(n % 7 === 0 ? { eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}` } : {}),
        };
        return { streamId: `s-${n % streams}`, events: [event], ...(n % 11 === 0 ? { commandId: `cmd-${n}` } : {}) };
      }),
    );
  }
}

/** The rules the passes judge by: s-0 deleted, s-1 truncated before version 20, s-2 expired, s-3
 * under a rule key with no rules, others not under rules at all. */
const RULES = new Map<string, RuleAnswer>([
  ['s-0', { from: Number.POSITIVE_INFINITY, minTimestamp: 0 }],
  ['s-1', { from: 20, minTimestamp: 0 }],
  ['s-2', { from: 0, minTimestamp: Date.now() + 86_400_000 }],
  ['s-3', null],
]);
const KEYS = [...RULES.keys()].map((id) => keyNumberAt(Buffer.from(id), 0, Buffer.byteLength(id)));

function jsPass(req: PassRequest): Promise<PassResult | undefined> {
  return runPass(req, {
    keys: new Set(KEYS),
    rules: new RuleCache(),
    ask: async (ids) => ids.map((id) => RULES.get(id) ?? null),
    pace: async () => false,
    step: async () => {},
  });
}

function nativePass(req: PassRequest, asked: string[] = []): Promise<PassResult | undefined> {
  const native = nativeAddon()?.scavengePass;
  if (!native) throw new Error('no native addon');
  const passes = new NativePasses(native, Float64Array.from(KEYS), new Int32Array(new SharedArrayBuffer(4)), 0);
  return passes.pass(req, {
    ask: (ids) => {
      asked.push(...ids);
      return ids.map((id) => RULES.get(id) ?? null);
    },
    step: () => {},
  });
}

/** Both passes over chunk `n` of `dir`: their results and temp files, which must be the same. */
async function bothPasses(dir: string, n: number): Promise<{ js: PassResult; native: PassResult; file?: Buffer }> {
  const file = chunkPath(dir, n);
  const out: { result: PassResult; file?: Buffer }[] = [];
  for (const pass of [jsPass, nativePass]) {
    const tmp = `${file}.test.tmp`;
    const result = await pass({ file, tmp, n, chunkSize: CHUNK, rulesEpoch: 0 });
    if (!result) throw new Error('stopped');
    out.push({ result, ...(result.written ? { file: fs.readFileSync(tmp) } : {}) });
    fs.rmSync(tmp, { force: true });
  }
  const [js, native] = out as [{ result: PassResult; file?: Buffer }, { result: PassResult; file?: Buffer }];
  expect(native.result).toEqual(js.result);
  expect(native.file === undefined).toBe(js.file === undefined);
  if (js.file) expect(native.file?.equals(js.file)).toBe(true);
  return { js: js.result, native: native.result, ...(js.file ? { file: js.file } : {}) };
}

describe.runIf(nativeAddon()?.scavengePass !== undefined)('the native scavenge pass', () => {
  it('writes the same temp file and result as the TypeScript pass, over plain and scavenged chunks', async () => {
    const dir = tempDir();
    let s = await openStore(dir, 'native', { chunkSize: CHUNK });
    await fill(s, 6, 2200);
    await s.close();
    const chunks = fs.readdirSync(`${dir}/chunks`).filter((f) => f.endsWith('.chunk')).length;
    expect(chunks).toBeGreaterThan(3);
    let written = 0;
    for (let n = 0; n < chunks - 1; n++) {
      const { js, file } = await bothPasses(dir, n);
      expect(js.removed).toBeGreaterThan(0);
      for (const id of js.survivorIds) expect(id).toBe('s-1');
      if (file) {
        // Installed as the chunk, it is what a second pass reads through its run map.
        fs.writeFileSync(chunkPath(dir, n), file);
        written++;
      }
    }
    expect(written).toBeGreaterThan(2);
    // A second pass over the scavenged chunks (their run maps), with s-3 now deleted too.
    RULES.set('s-3', { from: Number.POSITIVE_INFINITY, minTimestamp: 0 });
    try {
      for (let n = 0; n < chunks - 1; n++) {
        const { js } = await bothPasses(dir, n);
        expect(js.removed).toBeGreaterThan(0);
      }
    } finally {
      RULES.set('s-3', null);
    }
    // The store reads the chunks the passes wrote.
    s = await openStore(dir, 'native', { chunkSize: CHUNK });
    const e = (await s.readStream('s-4', { limit: 1 }))[0] as RecordedEvent;
    expect(e.version).toBe(1);
    await s.close();
  });

  it('asks each stream id under a rule key once per chunk, then judges without asking', async () => {
    const dir = tempDir();
    const s = await openStore(dir, 'native', { chunkSize: CHUNK });
    await fill(s, 6, 700);
    await s.close();
    const asked: string[] = [];
    const r = await nativePass({ file: chunkPath(dir, 0), tmp: `${chunkPath(dir, 0)}.t`, n: 0, chunkSize: CHUNK, rulesEpoch: 0 }, asked);
    expect(r?.written).toBe(true);
    expect(asked.sort()).toEqual(['s-0', 's-1', 's-2', 's-3']);
    fs.rmSync(`${chunkPath(dir, 0)}.t`, { force: true });
  });

  it('leaves a damaged chunk as it is, as the TypeScript pass does: a removed frame body, a length, a CRC field', async () => {
    const dir = tempDir();
    const s = await openStore(dir, 'native', { chunkSize: CHUNK });
    await fill(s, 6, 700);
    const removed = (await s.readStream('s-0', { limit: 1 }))[0] as RecordedEvent;
    const kept = (await s.readStream('s-4', { limit: 1 }))[0] as RecordedEvent;
    await s.close();
    const file = chunkPath(dir, 0);
    const clean = fs.readFileSync(file);
    const damages: [string, (b: Buffer) => void][] = [
      ['a removed frame body', (b) => (b[removed.position + b.readUInt32LE(removed.position) - 3] ^= 1)],
      ['a frame length', (b) => b.writeUInt32LE(b.readUInt32LE(kept.position) + 8, kept.position)],
      ['a kept frame CRC field', (b) => (b[kept.position + 4] ^= 1)],
      ['a record kind', (b) => (b[kept.position + 8] = 9)],
    ];
    for (const [what, damage] of damages) {
      const b = Buffer.from(clean);
      damage(b);
      fs.writeFileSync(file, b);
      const { js, native } = await bothPasses(dir, 0);
      expect([what, js.damaged, native.damaged]).toEqual([what, true, true]);
      expect(js.written).toBe(false);
      expect(fs.readFileSync(file).equals(b)).toBe(true);
    }
    // A damaged body of a kept frame is no damage to the pass: it is copied byte for byte.
    const b = Buffer.from(clean);
    const keptEnd = kept.position + b.readUInt32LE(kept.position);
    b[keptEnd - 3] = (b[keptEnd - 3] as number) ^ 0x40;
    fs.writeFileSync(file, b);
    const { js } = await bothPasses(dir, 0);
    expect(js.damaged).toBe(false);
    expect(js.written).toBe(true);
  });

  it('stops at the stop flag, and refuses bad arguments with INVALID_ARGUMENT', async () => {
    const native = nativeAddon()?.scavengePass;
    if (!native) return;
    const dir = tempDir();
    const s = await openStore(dir, 'native', { chunkSize: CHUNK });
    await fill(s, 6, 700);
    await s.close();
    const control = new Int32Array(new SharedArrayBuffer(4));
    control[0] = 1;
    const passes = new NativePasses(native, Float64Array.from(KEYS), control, 0);
    const tmp = `${chunkPath(dir, 0)}.t`;
    const r = await passes.pass(
      { file: chunkPath(dir, 0), tmp, n: 0, chunkSize: CHUNK, rulesEpoch: 0 },
      { ask: (ids) => ids.map(() => null), step: () => {} },
    );
    expect(r).toBeUndefined();
    expect(fs.existsSync(tmp)).toBe(false);
    const call = native as unknown as (o: unknown) => Promise<unknown>;
    await expect(Promise.resolve().then(() => call(null))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(Promise.resolve().then(() => call({ file: 1 }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // Rule keys are 48-bit integers: anything else is refused before a conversion could misread it.
    for (const bad of [Number.NaN, -1, 0.5, 2 ** 48, Number.POSITIVE_INFINITY]) {
      const withKey = new NativePasses(native, Float64Array.from([...KEYS, bad]), new Int32Array(new SharedArrayBuffer(4)), 0);
      const pass = withKey.pass(
        { file: chunkPath(dir, 0), tmp, n: 0, chunkSize: CHUNK, rulesEpoch: 0 },
        { ask: (ids) => ids.map(() => null), step: () => {} },
      );
      await expect(pass).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('keys must hold integers') });
      expect(fs.existsSync(tmp)).toBe(false);
    }
  });
});
