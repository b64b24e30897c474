/**
 * What verify checks index entries against: every record of the log (in position order) with its
 * version and the keys of its stream id, command id, category and type, in typed arrays (a store
 * may hold many millions of records).
 */
import { SEGMENT_KIND_CATEGORY, SEGMENT_KIND_COMMAND } from './format/index-layout.js';
import { keyOf } from './format/key-hash.js';
import { categoryOf, NameKeys } from './index/view-names.js';

export class RecordKeys {
  static readonly WIDTH = 8; // u32s per record: stream hi, lo, command hi, lo, category hi, lo, type hi, lo
  size = 0;
  position = new Float64Array(1024);
  version = new Uint32Array(1024);
  keys = new Uint32Array(1024 * RecordKeys.WIDTH);
  /** Bit 0: the record has a command; bit 1: its stream has a category. */
  flags = new Uint8Array(1024);
  private readonly names = new NameKeys();

  add(position: number, f: { streamId: string; version: number; commandId: string | undefined; type: string }): void {
    if (this.size === this.position.length) {
      const grow = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, n: number): T => {
        const b = new (a.constructor as new (n: number) => T)(n);
        b.set(a);
        return b;
      };
      this.position = grow(this.position, this.size * 2);
      this.version = grow(this.version, this.size * 2);
      this.keys = grow(this.keys, this.size * 2 * RecordKeys.WIDTH);
      this.flags = grow(this.flags, this.size * 2);
    }
    const i = this.size++;
    this.position[i] = position;
    this.version[i] = f.version;
    const put = (slot: number, k: { hi: number; lo: number }) => {
      this.keys[RecordKeys.WIDTH * i + 2 * slot] = k.hi;
      this.keys[RecordKeys.WIDTH * i + 2 * slot + 1] = k.lo;
    };
    put(0, this.names.of(f.streamId));
    if (f.commandId !== undefined) {
      put(1, keyOf(f.commandId));
      this.flags[i] = (this.flags[i] as number) | 1;
    }
    const category = categoryOf(f.streamId);
    if (category !== undefined) {
      put(2, this.names.of(category));
      this.flags[i] = (this.flags[i] as number) | 2;
    }
    put(3, this.names.of(f.type));
  }

  /** Whether record r has an entry of this kind, with key (hi, lo). */
  keyMatches(r: number, kind: number, hi: number, lo: number): boolean {
    const slot = kind - 1; // stream 0, command 1, category 2, type 3
    if (
      (kind === SEGMENT_KIND_COMMAND && !((this.flags[r] as number) & 1)) ||
      (kind === SEGMENT_KIND_CATEGORY && !((this.flags[r] as number) & 2))
    )
      return false;
    return this.keys[RecordKeys.WIDTH * r + 2 * slot] === hi && this.keys[RecordKeys.WIDTH * r + 2 * slot + 1] === lo;
  }

  /** Index of the record at `position`, or -1. */
  find(position: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.position[mid] as number) < position) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.size && this.position[lo] === position ? lo : -1;
  }
}
