/**
 * Snapshots: the newest saved state of a stream at a version, one file per stream under
 * `snapshots/<2 hex>/<16 hex>.snap` (named by the stream's index key), written whole or not at all
 * (temporary file, fsync, rename). A snapshot is a cache of the fold of the stream's events: a
 * damaged or foreign file is reported, removed and treated as absent, so the state is rebuilt from
 * the log.
 *
 * File format (version 1): magic `ANNALSSN`, u8 version, u8 flags (bit 0: state is bytes), u16 0,
 * u32 stream id bytes, u32 stream version, u32 state bytes, u32 CRC-32C of bytes 0–23; then the
 * stream id, the state (JSON text or bytes), and a u32 CRC-32C of both.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, toAnnalsError } from './errors.js';
import { crc32c } from './format/crc32c.js';
import { keyOf } from './format/key-hash.js';
import { fsyncDirectory, mkdirDurable } from './fs-durable.js';

const MAGIC = Buffer.from('ANNALSSN', 'latin1');
const SNAPSHOT_FORMAT_VERSION = 1;
const HEADER = 28;

export interface Snapshot {
  version: number;
  state: unknown;
}

/** The stream and version a snapshot file holds, when the file is whole (both CRCs check);
 * undefined for a damaged or foreign file. For copies (backup.ts) that must not read the state. */
export function snapshotFileInfo(b: Buffer): { streamId: string; version: number } | undefined {
  if (b.length < HEADER + 4 || !b.subarray(0, 8).equals(MAGIC) || b[8] !== SNAPSHOT_FORMAT_VERSION) return undefined;
  if (b.readUInt32LE(24) !== crc32c(b, 0, 0, 24)) return undefined;
  const sidLen = b.readUInt32LE(12);
  if (b.length !== HEADER + sidLen + b.readUInt32LE(20) + 4) return undefined;
  if (b.readUInt32LE(b.length - 4) !== crc32c(b, 0, HEADER, b.length - 4)) return undefined;
  return { streamId: b.toString('utf8', HEADER, HEADER + sidLen), version: b.readUInt32LE(16) };
}

export class SnapshotStore {
  constructor(
    private readonly dir: string,
    private readonly warn: (message: string) => void,
  ) {}

  private fileOf(streamId: string): string {
    const k = keyOf(streamId);
    const hex = k.hi.toString(16).padStart(8, '0') + k.lo.toString(16).padStart(8, '0');
    return path.join(this.dir, hex.slice(0, 2), `${hex}.snap`);
  }

  encode(streamId: string, version: number, state: unknown): Buffer {
    let body: Buffer;
    let flags = 0;
    if (state instanceof Uint8Array) {
      body = Buffer.from(state);
      flags = 1;
    } else {
      let json: string | undefined;
      try {
        json = JSON.stringify(state);
      } catch (err) {
        throw new InvalidArgumentError(`snapshot state cannot be encoded as JSON: ${(err as Error).message}`);
      }
      if (json === undefined) throw new InvalidArgumentError('snapshot state cannot be encoded as JSON');
      body = Buffer.from(json);
    }
    const sid = Buffer.from(streamId);
    const out = Buffer.alloc(HEADER + sid.length + body.length + 4);
    MAGIC.copy(out, 0);
    out[8] = SNAPSHOT_FORMAT_VERSION;
    out[9] = flags;
    out.writeUInt32LE(sid.length, 12);
    out.writeUInt32LE(version, 16);
    out.writeUInt32LE(body.length, 20);
    out.writeUInt32LE(crc32c(out, 0, 0, 24), 24);
    sid.copy(out, HEADER);
    body.copy(out, HEADER + sid.length);
    out.writeUInt32LE(crc32c(out, 0, HEADER, out.length - 4), out.length - 4);
    return out;
  }

  /** The snapshot in `b`, 'other' for a valid snapshot of another stream (a key collision), or
   * 'damaged'. */
  private decode(streamId: string, b: Buffer): Snapshot | 'other' | 'damaged' {
    const info = snapshotFileInfo(b);
    if (!info) return 'damaged';
    if (info.streamId !== streamId) return 'other';
    const sidLen = b.readUInt32LE(12);
    const bodyLen = b.readUInt32LE(20);
    const body = b.subarray(HEADER + sidLen, HEADER + sidLen + bodyLen);
    const state = b[9] === 1 ? new Uint8Array(body) : JSON.parse(body.toString('utf8'));
    return { version: info.version, state };
  }

  load(streamId: string): Snapshot | undefined {
    const file = this.fileOf(streamId);
    let b: Buffer;
    try {
      b = fs.readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw toAnnalsError(err);
    }
    const snap = this.decode(streamId, b);
    if (snap === 'damaged') {
      // A cache of the log: never served damaged; removed, and the state is folded from the log.
      this.warn(`snapshot ${file} is damaged; ignored and removed, the state is rebuilt from the log`);
      fs.rmSync(file, { force: true });
      return undefined;
    }
    return snap === 'other' ? undefined : snap;
  }

  save(streamId: string, encoded: Buffer): void {
    const file = this.fileOf(streamId);
    const dir = path.dirname(file);
    const tmp = `${file}.tmp`;
    try {
      mkdirDurable(dir);
      const fd = fs.openSync(tmp, 'w');
      try {
        fs.writeSync(fd, encoded);
        fs.fdatasyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
      fsyncDirectory(dir);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw toAnnalsError(err, `save snapshot ${file}: `);
    }
  }
}
