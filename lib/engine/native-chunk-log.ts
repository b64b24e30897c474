/** The native engine's data log: a thin adapter from LogEngine to the addon's NativeLog. */
import { toAnnalsError } from '../errors.js';
import type { NativeAddon, NativeLogHandle } from '../native.js';
import type { LogEngine, OpenReport } from './log-engine.js';

export class NativeChunkLog implements LogEngine {
  readonly name = 'native' as const;
  private readonly log: NativeLogHandle;

  constructor(addon: NativeAddon, dir: string, chunkSize: number, readOnly: boolean) {
    this.log = wrap(() => new addon.NativeLog(dir, chunkSize, readOnly));
  }

  open(): OpenReport {
    return wrap(() => this.log.open());
  }
  append(buf: Uint8Array, starts: Float64Array, ends: Uint32Array): void {
    wrap(() => this.log.append(buf, starts, ends));
  }
  async flush(): Promise<void> {
    try {
      await this.log.flush();
    } catch (err) {
      throw toAnnalsError(err);
    }
  }
  readFrames(positions: Float64Array): Buffer {
    return wrap(() => this.log.readFrames(positions));
  }
  scan(from: number, limit: number, maxBytes: number): { bytes: Buffer; next: number } {
    return wrap(() => this.log.scan(from, limit, maxBytes));
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
