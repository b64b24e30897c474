/**
 * The native engine's chunk pass: the walk of scavenge-pass.ts in C++ (native/scavenge_pass.h),
 * run by the addon on a thread of its own at the lowest priority, so neither the event loop nor a
 * worker thread's JS runs it. What it needs from JS it gets up front: the rule keys, and the rules
 * of the stream ids met so far (keyed by their bytes). A chunk with stream ids under rule keys the
 * table lacks comes back with them (`ask`); they are answered (PassHandlers.ask, on the event loop)
 * and the chunk's pass runs again, so no chunk runs more than twice.
 *
 * The position map, header and footer are written here by the TypeScript pass's own `writeTail`,
 * and the survivors are copied byte for byte by both passes: the temp files of the two passes are
 * byte-identical (test/scavenge-native.test.ts).
 *
 * Steps: the native pass writes and syncs the survivors in one call, so the steps `examined`,
 * `written` and `synced` are reported after it, before the tail and after its sync. A crash at any
 * of them leaves the old chunk and a temp file, as with the TypeScript pass.
 *
 * Bounds: the rules table holds at most MAX_CACHED_RULES ids and MAX_CACHED_RULE_CHARS bytes of
 * them (cleared when either would pass: scavenge-rule-cache.ts), each id's bytes twice (the key and
 * the Buffer) and once more packed for the addon; the pass's own
 * buffers are bounded in C++ (1 MiB of output gathered at a time, at most 16 MiB of it not yet
 * written back: native/scavenge_output.h).
 */
import fs from 'node:fs';
import { LimitExceededError, toAnnalsError } from './errors.js';
import { CHUNK_HEADER_SIZE } from './format/layout.js';
import { utf8Text } from './format/text.js';
import type { PassRequest, PassResult, RuleAnswer } from './scavenge-pass.js';
import { RuleCache } from './scavenge-rule-cache.js';
import type { PassHandlers } from './scavenge-runner.js';
import { openSource, type Source, writeTail } from './scavenge-source.js';

/** Runs of one chunk's pass at most: one to learn the ids to ask, one with them answered. */
const MAX_RUNS = 3;

export interface NativePassOptions {
  file: string;
  tmp: string;
  chunkSize: number;
  base: number;
  end: number;
  dataChecksum: number;
  records: number;
  runLogical?: Uint32Array;
  runOffsets?: Uint32Array;
  keys: Float64Array;
  ruleIds: Uint8Array;
  ruleLens: Uint32Array;
  ruleFrom: Float64Array;
  ruleMinTimestamp: Float64Array;
  ruleNone: Uint8Array;
  control?: Int32Array;
  maxBytesPerSecond: number;
  /** The bound counts over the whole scavenge: it began this long ago and examined this much. */
  pacedSecondsAgo: number;
  pacedBytes: number;
}

export interface NativePassAnswer {
  stopped: boolean;
  damaged: boolean;
  removed: number;
  examined: number;
  ask: Buffer[];
  logical: Uint32Array;
  offsets: Uint32Array;
  outEnd: number;
  checksum: number;
  erasedLogical: Uint32Array;
  erasedHi: Uint32Array;
  erasedLo: Uint32Array;
  survivorIds: Buffer[];
  survivorOf: Uint32Array;
  survivorPositions: Float64Array;
  survivorVersions: Float64Array;
}

/** The addon's `scavengePass`. */
export type NativeScavengePass = (o: NativePassOptions) => Promise<NativePassAnswer>;

type Packed = Pick<NativePassOptions, 'ruleIds' | 'ruleLens' | 'ruleFrom' | 'ruleMinTimestamp' | 'ruleNone'>;

/** The passes of one scavenge, sharing the rules met. */
export class NativePasses {
  /** By the id's bytes (latin1, one char per byte): the bytes and the stream's rules. */
  private readonly rules = new RuleCache<{ bytes: Buffer; answer: RuleAnswer }>();
  private packed: Packed | undefined;
  private readonly started = performance.now();
  private examined = 0;
  private rulesEpoch = 0;

  constructor(
    private readonly native: NativeScavengePass,
    private readonly keys: Float64Array,
    private readonly control: Int32Array,
    private readonly maxBytesPerSecond: number,
  ) {}

  /** Scavenges chunk `req.n` into `req.tmp`; undefined: stopped (the temp file is removed). */
  async pass(req: PassRequest, h: PassHandlers): Promise<PassResult | undefined> {
    let done = false;
    if (req.rulesEpoch !== this.rulesEpoch) {
      this.rules.clear();
      this.packed = undefined;
      this.rulesEpoch = req.rulesEpoch;
    }
    try {
      const src = openSource(req);
      fs.closeSync(src.fd);
      const a = await this.walk(req, src, h);
      if (!a) return undefined;
      h.step('examined');
      const result = resultOf(src, a);
      if (result.removed === 0 || result.damaged) {
        result.after = result.before;
        return result;
      }
      const fd = fs.openSync(req.tmp, 'r+');
      try {
        const count = a.logical.length;
        const survived = { logical: a.logical, offsets: a.offsets, count, end: a.outEnd, checksum: a.checksum, chunkSize: req.chunkSize };
        const mapBytes = writeTail(fd, survived, { logical: a.erasedLogical, hi: a.erasedHi, lo: a.erasedLo }, src);
        h.step('written');
        await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
        h.step('synced');
        result.after = a.outEnd - CHUNK_HEADER_SIZE + mapBytes;
      } finally {
        fs.closeSync(fd);
      }
      result.written = true;
      done = true;
      return result;
    } finally {
      if (!done) fs.rmSync(req.tmp, { force: true });
    }
  }

  /** Runs the native walk until it needs no answer; undefined: stopped. */
  private async walk(req: PassRequest, src: Source, h: PassHandlers): Promise<NativePassAnswer | undefined> {
    for (let run = 0; run < MAX_RUNS; run++) {
      let a: NativePassAnswer;
      try {
        a = await this.native({
          file: req.file,
          tmp: req.tmp,
          chunkSize: req.chunkSize,
          base: req.n * req.chunkSize,
          end: src.end,
          dataChecksum: src.dataChecksum >>> 0,
          records: src.records,
          ...(src.runs ? { runLogical: src.runs.logical, runOffsets: src.runs.offsets } : {}),
          keys: this.keys,
          ...this.pack(),
          control: this.control,
          maxBytesPerSecond: this.maxBytesPerSecond,
          pacedSecondsAgo: (performance.now() - this.started) / 1000,
          pacedBytes: this.examined,
        });
      } catch (err) {
        throw toAnnalsError(err);
      }
      this.examined += a.examined;
      if (a.stopped) return undefined;
      if (a.ask.length === 0) return a;
      this.answer(a.ask, h, run > 0);
    }
    throw new LimitExceededError(`scavenge of ${req.file}: its stream rules were still asked after ${MAX_RUNS} runs`);
  }

  /** Adds the answers to the rules table, cleared first when they do not fit, unless `again`: the
   * chunk's second ask, whose pass also needs the rules the first one left in the table (it may
   * then pass its bounds by one chunk's ids, until the next chunk's first ask). */
  private answer(asked: Buffer[], h: PassHandlers, again: boolean): void {
    const answers = h.ask(asked.map((b) => utf8Text(b, 0, b.length)));
    const keys = asked.map((b) => b.toString('latin1'));
    if (!again) this.rules.makeRoom(keys);
    for (let k = 0; k < asked.length; k++) this.rules.set(keys[k] as string, { bytes: asked[k] as Buffer, answer: answers[k] ?? null });
    this.packed = undefined;
  }

  /** The rules table as the addon takes it, packed again only when it changed. */
  private pack(): Packed {
    if (this.packed) return this.packed;
    const n = this.rules.size;
    let bytes = 0;
    for (const [, r] of this.rules) bytes += r.bytes.length;
    const p: Packed = {
      ruleIds: new Uint8Array(bytes),
      ruleLens: new Uint32Array(n),
      ruleFrom: new Float64Array(n),
      ruleMinTimestamp: new Float64Array(n),
      ruleNone: new Uint8Array(n),
    };
    let i = 0;
    let at = 0;
    for (const [, { bytes: b, answer }] of this.rules) {
      p.ruleIds.set(b, at);
      at += b.length;
      p.ruleLens[i] = b.length;
      p.ruleFrom[i] = answer?.from ?? 0;
      p.ruleMinTimestamp[i] = answer?.minTimestamp ?? 0;
      p.ruleNone[i] = answer === null ? 1 : 0;
      i++;
    }
    this.packed = p;
    return p;
  }
}

function resultOf(src: Source, a: NativePassAnswer): PassResult {
  return {
    before: src.before + (src.end - CHUNK_HEADER_SIZE),
    after: 0,
    removed: a.removed,
    damaged: a.damaged,
    written: false,
    logical: a.logical,
    offsets: a.offsets,
    erasedLogical: a.erasedLogical,
    erasedHi: a.erasedHi,
    erasedLo: a.erasedLo,
    survivorIds: a.survivorIds.map((b) => utf8Text(b, 0, b.length)),
    survivorOf: a.survivorOf,
    survivorPositions: a.survivorPositions,
    survivorVersions: a.survivorVersions,
  };
}
