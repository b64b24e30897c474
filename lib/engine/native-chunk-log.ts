/** The native engine's data log: a thin adapter from LogEngine to the addon's NativeLog. */
import { toAnnalsError } from '../errors.js';
import type { NativeAddon, NativeLogHandle } from '../native.js';
import { FlushPoller } from './flush-poller.js';
import type { FollowReport, LogEngine, OpenReport } from './log-engine.js';

/** Reads up to this size reuse one buffer; a bigger one gets its own, which is not kept. */
const MAX_KEPT_READ_BYTES = 1 << 20;

export class NativeChunkLog implements LogEngine {
  readonly name = 'native' as const;
  private readonly log: NativeLogHandle;
  // Reused across reads: a lookup hands the addon arrays it already has, so neither side allocates
  // a backing store per call (that, and its sweeping, was a third of a point lookup).
  private positions = new Float64Array(256);
  private frames = Buffer.alloc(64 * 1024);

  /** Each turn settles the flushes the flusher thread has finished, without waiting for its
   * wake-up call (which then finds nothing left). */
  private readonly poller: FlushPoller;

  /** `pollMs`: the flushPollMicros option, in ms (flush-poller.ts). */
  constructor(addon: NativeAddon, dir: string, chunkSize: number, readOnly: boolean, pollMs = 0) {
    this.poller = new FlushPoller(pollMs, () => this.log.pollFlushes());
    this.log = wrap(() => new addon.NativeLog(dir, chunkSize, readOnly));
    this.pinReads();
  }

  private storeIdentity = 0;

  open(freshIdentity: number, durableFloor = 0): OpenReport {
    const report = wrap(() => this.log.open(freshIdentity, durableFloor));
    this.storeIdentity = report.identity;
    return report;
  }
  identity(): number {
    return this.storeIdentity;
  }
  append(buf: Uint8Array, starts: Float64Array, ends: Uint32Array): void {
    wrap(() => this.log.append(buf, starts, ends));
  }
  async flush(): Promise<void> {
    try {
      const flushed = this.log.flush();
      this.poller.start();
      await flushed;
    } catch (err) {
      throw toAnnalsError(err);
    }
  }

  readFrames(positions: ArrayLike<number>): Buffer {
    const count = positions.length;
    if (count > this.positions.length) {
      this.positions = new Float64Array(Math.max(count, this.positions.length * 2));
      this.pinReads();
    }
    for (let i = 0; i < count; i++) this.positions[i] = positions[i] as number;
    let bytes = wrap(() => this.log.readPinned(count));
    if (bytes <= this.frames.length) return this.frames.subarray(0, bytes);
    const out = Buffer.allocUnsafe(bytes);
    if (bytes <= MAX_KEPT_READ_BYTES) {
      this.frames = out;
      this.pinReads();
    }
    bytes = wrap(() => this.log.readFrames(this.positions, count, out));
    return out.subarray(0, bytes);
  }
  /** The addon reads into the arrays it was last handed here (readPinned). */
  private pinReads(): void {
    wrap(() => this.log.pinReads(this.positions, this.frames));
  }
  scan(from: number, limit: number, maxBytes: number): { bytes: Buffer; next: number } {
    return wrap(() => this.log.scan(from, limit, maxBytes));
  }
  skipDamaged(position: number): number {
    return wrap(() => this.log.skipDamaged(position));
  }
  forget(n: number): void {
    wrap(() => this.log.forget(n));
  }
  follow(): FollowReport {
    return wrap(() => this.log.follow());
  }
  endPosition(): number {
    return wrap(() => this.log.endPosition());
  }
  chunkCount(): number {
    return wrap(() => this.log.chunkCount());
  }
  close(): void {
    wrap(() => this.log.close());
  }
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toAnnalsError(err);
  }
}
