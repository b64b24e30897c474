/**
 * One sealed chunk's scavenge pass, the part that reads and writes bytes: reads the chunk file
 * (an ordinary sealed chunk, or one scavenged before, through its run map), checks each frame
 * (length, CRC, kind), judges it by the rules the scavenge took at its start, copies the survivors
 * into the temp file `tmp` with a position map, header and footer (lib/format/scavenged-chunk.ts),
 * and fdatasyncs it. It runs in a worker thread (scavenge-worker.ts) so the event loop only does
 * the swap (scavenge-chunk.ts); the same code runs in-thread where no worker can be started. It is
 * the JS engine's pass; the native engine runs its C++ twin (scavenge-native.ts), which ends in the
 * same `writeTail` and writes the same bytes.
 *
 * Frames are judged on their bytes: the 48-bit key of the stream id's bytes is looked up in the
 * keys of the streams with rules (a Set of numbers); only a stream id whose key is there becomes a
 * string, and a stream id not met before is asked of the store (`ask`, once per block for all the
 * new ones of that block). Survivors are copied in runs (one copy per run of back-to-back kept
 * frames), through a bounded output buffer.
 *
 * What is checked, and why it is enough: every frame's length and kind, and the data checksum the
 * footer chains over all frames' length and CRC fields (with the record count), so the walk over
 * the frames is the one sealed; the CRC of each frame's body only for the frames removed, so no
 * event is removed by fields a damage changed. A kept frame is copied byte for byte, CRC included:
 * were its body damaged, reads and `annals verify` find it in the new file as in the old.
 *
 * Invariants: nothing is written to the chunk itself; the temp file is complete and synced before
 * `written` is true; a damaged frame met (bad length, kind, chain, or a removed frame's CRC) leaves
 * the chunk as it is; a frame whose body does not decode is kept (reads refuse it).
 */
import fs from 'node:fs';
import { CorruptionError } from './errors.js';
import { crc32c } from './format/crc32c.js';
import { keyNumberAt } from './format/key-hash.js';
import { CHUNK_HEADER_SIZE, FRAME_HEADER_SIZE, isEventKind } from './format/layout.js';
import { commandKeyAt, retentionFieldsAt } from './format/record-decode.js';
import { chainFrameChecksum } from './format/record-scanner.js';
import { cachedString } from './format/string-cache.js';
import { utf8Text } from './format/text.js';
import { PassOutput, U32List } from './scavenge-output.js';
import { DEFAULT_RULE_CACHE_BOUNDS, type RuleCache } from './scavenge-rule-cache.js';
import { openSource, readFully, type Source, writeTail } from './scavenge-source.js';

/** Bytes of the chunk read at once (a frame longer than this is read whole). */
const READ_BYTES = 1 << 20;

/** What a stream's events are judged by: kept from version `from` and timestamp `minTimestamp`
 * on; null: the stream has no rules (all kept). */
export type RuleAnswer = { from: number; minTimestamp: number } | null;

export type PassStep = 'examined' | 'written' | 'synced';

export interface PassRequest {
  /** The chunk file, its temp file, its number and the store's chunk size. */
  file: string;
  tmp: string;
  n: number;
  chunkSize: number;
  /**
   * The scavenge's generation of rules: moves on when the store's side forgot the rules it had
   * answered (its cache full). A pass that keeps rules across chunks drops them then, so each
   * stream under rules it meets again is asked again: the asking is how the store's side learns
   * whose last event a chunk removes (a version floor to raise before the swap).
   */
  rulesEpoch: number;
}

export interface PassResult {
  /** Bytes of frames (and of a previous map) before, and after when written. */
  before: number;
  after: number;
  removed: number;
  damaged: boolean;
  /** The temp file is whole and synced (something was removed, nothing damaged). */
  written: boolean;
  /** Per surviving frame: its logical offset and its offset in the temp file. */
  logical: Uint32Array;
  offsets: Uint32Array;
  /** Removed frames that carried a command id: their logical offsets and the id's key (hi, lo). */
  erasedLogical: Uint32Array;
  erasedHi: Uint32Array;
  erasedLo: Uint32Array;
  /** Survivors of streams with rules: the ids, then per survivor its id's index, position, version. */
  survivorIds: string[];
  survivorOf: Uint32Array;
  survivorPositions: Float64Array;
  survivorVersions: Float64Array;
}

export interface PassDeps {
  /** Keys (keyNumberAt) of the streams with rules at the scavenge's start. */
  keys: ReadonlySet<number>;
  /** Rules of the streams met so far (shared by the chunks of one scavenge; bounded in ids and in
   * their characters, scavenge-rule-cache.ts). */
  rules: RuleCache<RuleAnswer>;
  /** The rules of stream ids not met before, in order. */
  ask(ids: string[]): Promise<RuleAnswer[]>;
  /** After each block read; `bytes` examined since the last call. True: stop. */
  pace(bytes: number): Promise<boolean>;
  step(step: PassStep): Promise<void>;
}

/** Scavenges chunk `req.n` into `req.tmp`; undefined: stopped (the temp file is removed). */
export async function runPass(req: PassRequest, d: PassDeps): Promise<PassResult | undefined> {
  const src = openSource(req);
  const out = new PassOutput(fs.openSync(req.tmp, 'w+'), req.chunkSize);
  let done = false;
  try {
    const walk = new Walk(req, src, out, d);
    if (!(await walk.run())) return undefined;
    await d.step('examined');
    const result = walk.result();
    if (result.removed === 0 || result.damaged) {
      result.after = result.before;
      return result;
    }
    out.drain();
    const survived = { logical: out.logical.items, offsets: out.offsets.items, count: out.logical.length };
    const erased = { logical: walk.erased.logical.toArray(), hi: walk.erased.hi.toArray(), lo: walk.erased.lo.toArray() };
    const mapBytes = writeTail(out.fd, { ...survived, end: out.end, checksum: out.checksum, chunkSize: out.chunkSize }, erased, src);
    await d.step('written');
    await out.sync();
    await d.step('synced');
    result.after = out.end - CHUNK_HEADER_SIZE + mapBytes;
    result.written = true;
    done = true;
    return result;
  } finally {
    fs.closeSync(src.fd);
    out.close();
    if (!done) fs.rmSync(req.tmp, { force: true });
  }
}

const KEEP = 0;
const REMOVE = 1;
const ASK = 2;
type Verdict = typeof KEEP | typeof REMOVE | typeof ASK;

/** The walk over one chunk's frames. */
class Walk {
  private buf = Buffer.allocUnsafe(READ_BYTES);
  private readonly fields = new Float64Array(3);
  private removed = 0;
  private damaged = false;
  /** The data checksum chained over the frames walked, and their count: checked against the
   * footer's at the end (so every frame's length and CRC field are as sealed). */
  private chain = 0;
  private frames = 0;
  private runIndex = 0;
  private readonly ids = new Map<string, number>();
  /** The stream last judged under each key, within the rule caches' bounds (ids and their
   * characters, kept twice: as the string and as its bytes). */
  private readonly byKey = new Map<number, { id: string; bytes: Buffer }>();
  private byKeyChars = 0;
  private readonly survivorOf = new U32List();
  private readonly survivorPositions: number[] = [];
  private readonly survivorVersions: number[] = [];
  /** The removed frames that carried a command id (PassResult.erased*). */
  readonly erased = { logical: new U32List(), hi: new U32List(), lo: new U32List() };

  constructor(
    private readonly req: PassRequest,
    private readonly src: Source,
    private readonly out: PassOutput,
    private readonly d: PassDeps,
  ) {}

  /** False: stopped. */
  async run(): Promise<boolean> {
    const { src } = this;
    let at = CHUNK_HEADER_SIZE;
    while (at < src.end && !this.damaged) {
      const length = Math.min(this.buf.length, src.end - at);
      readFully(src.fd, this.buf, length, at);
      const used = await this.block(at, length);
      if (used === 0 && !this.damaged) {
        // A frame longer than the buffer: read it whole next time.
        const len = this.buf.readUInt32LE(0);
        this.buf = Buffer.allocUnsafe(len);
        continue;
      }
      at += used;
      await this.out.syncSome();
      if (await this.d.pace(used)) return false;
    }
    if (this.chain >>> 0 !== src.dataChecksum >>> 0 || (src.records >= 0 && this.frames !== src.records)) this.damaged = true;
    return true;
  }

  /** Judges the whole frames of buf[0, length) (file offset `at`); returns the bytes they take. */
  private async block(at: number, length: number): Promise<number> {
    const { buf, src, out } = this;
    const base = this.req.n * this.req.chunkSize;
    let off = 0;
    let keptFrom = 0;
    while (off < length) {
      const len = length - off >= FRAME_HEADER_SIZE ? buf.readUInt32LE(off) : 0;
      const fileOff = at + off;
      if (len < FRAME_HEADER_SIZE || fileOff + len > src.end) {
        if (length - off < FRAME_HEADER_SIZE && fileOff + FRAME_HEADER_SIZE <= src.end) break;
        this.damaged = true;
        break;
      }
      if (off + len > length) break;
      if (!isEventKind(buf[off + 8])) {
        this.damaged = true;
        break;
      }
      this.chain = chainFrameChecksum(this.chain, buf, off);
      this.frames++;
      const logical = this.logicalOf(fileOff);
      let verdict = this.judge(off, base + logical);
      if (verdict === ASK) {
        await this.askFrom(off, len, length);
        verdict = this.judge(off, base + logical);
      }
      if (verdict === KEEP) {
        out.frame(buf, off, len, logical);
      } else if (buf.readUInt32LE(off + 4) !== crc32c(buf, 0, off + 8, off + len)) {
        this.damaged = true;
        break;
      } else {
        if (keptFrom < off) out.copy(buf, keptFrom, off);
        keptFrom = off + len;
        this.removed++;
        const command = commandKeyAt(buf, off, base + logical);
        if (command) {
          this.erased.logical.push(logical);
          this.erased.hi.push(command.hi);
          this.erased.lo.push(command.lo);
        }
      }
      off += len;
    }
    if (keptFrom < off && !this.damaged) out.copy(buf, keptFrom, off);
    return off;
  }

  private logicalOf(fileOff: number): number {
    const runs = this.src.runs;
    if (!runs) return fileOff;
    while (this.runIndex + 1 < runs.offsets.length && (runs.offsets[this.runIndex + 1] as number) <= fileOff) this.runIndex++;
    return (runs.logical[this.runIndex] as number) + (fileOff - (runs.offsets[this.runIndex] as number));
  }

  /** Whether the frame at `off` stays (KEEP), goes (REMOVE), or its stream's rules are to be asked
   * first (ASK). Synchronous: a promise per frame would cost more than the rest of its judging. */
  private judge(off: number, position: number): Verdict {
    const { buf, fields } = this;
    let s: number;
    try {
      s = retentionFieldsAt(buf, off, position, fields);
    } catch (err) {
      if (err instanceof CorruptionError) return KEEP;
      throw err;
    }
    const idLen = fields[0] as number;
    const key = keyNumberAt(buf, s, idLen);
    if (!this.d.keys.has(key)) return KEEP;
    // The stream last judged under this key, compared by its bytes: no string for its frames.
    const known = this.byKey.get(key);
    let id: string;
    if (known && known.bytes.length === idLen && buf.compare(known.bytes, 0, idLen, s, s + idLen) === 0) id = known.id;
    else {
      id = utf8Text(buf, s, s + idLen);
      if (this.d.rules.has(id)) {
        if (this.byKey.size >= DEFAULT_RULE_CACHE_BOUNDS.entries || this.byKeyChars + idLen > DEFAULT_RULE_CACHE_BOUNDS.chars) {
          this.byKey.clear();
          this.byKeyChars = 0;
        }
        this.byKeyChars += idLen - (this.byKey.get(key)?.bytes.length ?? 0);
        this.byKey.set(key, { id, bytes: Buffer.from(buf.subarray(s, s + idLen)) });
      }
    }
    const rule = this.d.rules.get(id);
    if (rule === undefined) return ASK;
    if (rule === null) return KEEP;
    const version = fields[1] as number;
    if (version < rule.from || (fields[2] as number) < rule.minTimestamp) return REMOVE;
    let i = this.ids.get(id);
    if (i === undefined) {
      i = this.ids.size;
      this.ids.set(id, i);
    }
    this.survivorOf.push(i);
    this.survivorPositions.push(position);
    this.survivorVersions.push(version);
    return KEEP;
  }

  /** Asks the rules of every stream id with a key among the rules' that the frames of the block
   * from `off` on carry and that were not met before: one question per block. */
  private async askFrom(off: number, len: number, length: number): Promise<void> {
    const { buf, fields } = this;
    const wanted = new Set<string>();
    for (let o = off, l = len; o + l <= length && l >= FRAME_HEADER_SIZE; o += l, l = o + 4 <= length ? buf.readUInt32LE(o) : 0) {
      try {
        const s = retentionFieldsAt(buf, o, 0, fields);
        const idLen = fields[0] as number;
        if (!this.d.keys.has(keyNumberAt(buf, s, idLen))) continue;
        const id = cachedString(buf, s, s + idLen);
        if (!this.d.rules.has(id)) wanted.add(id);
      } catch {
        // a frame whose body does not decode is kept: nothing to ask
      }
    }
    const ids = [...wanted];
    const answers = await this.d.ask(ids);
    this.d.rules.makeRoom(ids);
    for (let k = 0; k < ids.length; k++) this.d.rules.set(ids[k] as string, answers[k] ?? null);
  }

  result(): PassResult {
    return {
      before: this.src.before + (this.src.end - CHUNK_HEADER_SIZE),
      after: 0,
      removed: this.removed,
      damaged: this.damaged,
      written: false,
      logical: this.out.logical.toArray(),
      offsets: this.out.offsets.toArray(),
      erasedLogical: this.erased.logical.toArray(),
      erasedHi: this.erased.hi.toArray(),
      erasedLo: this.erased.lo.toArray(),
      survivorIds: [...this.ids.keys()],
      survivorOf: this.survivorOf.toArray(),
      survivorPositions: Float64Array.from(this.survivorPositions),
      survivorVersions: Float64Array.from(this.survivorVersions),
    };
  }
}
