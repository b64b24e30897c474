/**
 * The one place that loads the native addon. node-gyp-build finds `build/Release` (a local build)
 * or the prebuilt binary under `prebuilds/<platform>-<arch>/` that ships in the package
 * (scripts/prebuild-all.mjs builds them), so no compiler is needed at install. When neither
 * loads, `nativeLoadError()` says why and the store falls back to the JS engine (lib/open-store.ts
 * warns once).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeScavengePass } from './scavenge-native.js';

export interface NativeOpenReport {
  endPosition: number;
  generation: number;
  chunkCount: number;
  torn: boolean;
  tornPosition: number;
  discardedBytes: number;
  tornReason: string;
  identity: number;
  identityChunk: number;
  damaged: number[];
}

export interface NativeLogHandle {
  open(freshIdentity: number, durableFloor?: number): NativeOpenReport;
  append(buf: Uint8Array, starts: Float64Array, ends: Uint32Array): void;
  flush(): Promise<void>;
  /** Settles the promises of the flushes finished so far; returns how many are still pending. */
  pollFlushes(): number;
  /** Copies the frames at positions[0, count) into `out`; returns the bytes they take (retry with a
   * bigger `out` when that exceeds its length). */
  readFrames(positions: Float64Array, count: number, out: Uint8Array): number;
  /** Keeps `positions` and `out` for readPinned (until the next pinReads). */
  pinReads(positions: Float64Array, out: Uint8Array): void;
  /** readFrames over the pinned arrays: one argument to convert instead of three. */
  readPinned(count: number): number;
  scan(from: number, limit: number, maxBytes: number): { bytes: Buffer; next: number };
  skipDamaged(position: number): number;
  follow(): { endPosition: number; damaged: number; error: string };
  /** Unmaps sealed chunk `chunk` (a scavenge swapped its file: ChunkLog::Forget). */
  forget(chunk: number): void;
  endPosition(): number;
  chunkCount(): number;
  close(): void;
}

export interface NativeSegmentHandle {
  header(): {
    kind: 1 | 2;
    fromPosition: number;
    toPosition: number;
    entryCount: number;
    distinctKeys: number;
    bloomBytes: number;
    starts: number;
  };
  mayContain(hi: number, lo: number): boolean;
  /** The Bloom filter: a read-only Buffer over the segment's mapping (read it, never write it), which
   * keeps the mapping alive until it is collected, after close() too. */
  bloomBits(): Buffer;
  /** Answers are written to `out` as [seq, position] pairs; the result is how many values the
   * answer takes (retry with a bigger `out` when that exceeds its length). No Bloom probe: callers
   * probe their copy of the filter (bloomBits) first. */
  range(hi: number, lo: number, fromSeq: number, toSeq: number, out: Float64Array): number;
  /** The key's entry with the largest seq, and range, with their arguments in the segment's block,
   * [hi, lo, fromSeq, toSeq], and the answer written after them (not written when it is longer
   * than the block's rest: ask range). */
  findLastInBlock(): number;
  rangeInBlock(): number;
  close(): void;
}

/** One lookup over a kind's segments, newest first (native/index_binding.cc). */
export interface NativeSegmentChainHandle {
  /** With [hi, lo, fromSeq, toSeq, count] in the chain's block, searches its `count` oldest
   * segments newest first (Bloom probe, then tree) and answers as rangeInBlock from the first that
   * holds the key, its index in block[4] (-1: none). */
  newestInBlock(): number;
  close(): void;
}

/** An answer of NativeDirectoryHandle: [ids, values], the ids' UTF-8 back to back and, per entry,
 * [id end offset, first version, last version, first position, last position]. */
export type NativeDirectoryAnswer = [Buffer, Float64Array];

export interface NativeDirectoryHandle {
  header(): { fromPosition: number; toPosition: number; entryCount: number; starts: number };
  /** `after` and `prefix`: undefined (or null) for none; `limit` at most 10000. */
  page(after: string | undefined, prefix: string | undefined, limit: number): NativeDirectoryAnswer;
  get(streamId: string): NativeDirectoryAnswer | undefined;
  close(): void;
}

export interface NativeAddon {
  /** `block`: a Float64Array of at least 6 values (segments may share one) for the *InBlock lookups. */
  NativeSegment: new (
    path: string,
    block: Float64Array,
  ) => NativeSegmentHandle;
  /** `block`: a Float64Array of at least 7 values for newestInBlock. */
  NativeSegmentChain: new (
    segments: NativeSegmentHandle[],
    block: Float64Array,
  ) => NativeSegmentChainHandle;
  buildSegment(
    dir: string,
    name: string,
    kind: number,
    from: number,
    to: number,
    hi: Uint32Array,
    lo: Uint32Array,
    seq: Uint32Array,
    position: Float64Array,
  ): Promise<void>;
  mergeSegments(dir: string, name: string, kind: number, from: number, to: number, inputs: NativeSegmentHandle[]): Promise<void>;
  NativeDirectory: new (path: string) => NativeDirectoryHandle;
  buildDirectory(
    dir: string,
    name: string,
    from: number,
    to: number,
    ids: Uint8Array,
    idEnds: Uint32Array,
    firstVersion: Uint32Array,
    lastVersion: Uint32Array,
    firstPosition: Float64Array,
    lastPosition: Float64Array,
  ): Promise<void>;
  mergeDirectories(dir: string, name: string, from: number, to: number, inputs: NativeDirectoryHandle[]): Promise<void>;
  /** The merged page of several directories (oldest first): native/directory_listing.h. */
  listDirectories(
    files: NativeDirectoryHandle[],
    after: string | undefined,
    prefix: string | undefined,
    limit: number,
  ): NativeDirectoryAnswer;
  NativeLog: new (dir: string, chunkSize: number, readOnly: boolean) => NativeLogHandle;
  /** flock(path) (native/dir_lock.h); fileId(): "<dev>:<ino>" of the file locked. */
  DirLock: new (
    path: string,
  ) => { release(): void; fileId(): string };
  crc32c(bytes: Uint8Array, seed?: number): number;
  crc32cHardware: boolean;
  /** One sealed chunk's scavenge pass (native/scavenge_binding.cc; lib/scavenge-native.ts). */
  scavengePass?: NativeScavengePass;
  formatVersion: number;
}

let cached: { addon?: NativeAddon; error?: Error } | undefined;

/** Package root: lib/ (sources under vitest) and dist/ (the published build) both sit one below. */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The C library of this Linux process. node-gyp-build tells musl only by /etc/alpine-release or
 * LIBC=musl; Node's own report says which libc it runs on everywhere (no glibc version: musl).
 */
export function linuxLibc(): 'glibc' | 'musl' {
  if (process.env.LIBC === 'musl' || process.env.LIBC === 'glibc') return process.env.LIBC;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

/** The binary node-gyp-build would load, with musl told apart as linuxLibc() does. */
export function nativeBinaryPath(root = PACKAGE_ROOT): string {
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  const musl = path.join(root, 'prebuilds', `linux-${process.arch}`, 'annals.napi.musl.node');
  const local = path.join(root, 'build', 'Release', 'annals.node');
  if (process.platform === 'linux' && !fs.existsSync(local) && fs.existsSync(musl) && linuxLibc() === 'musl') return musl;
  return nodeGypBuild.resolve(root);
}

function load(): { addon?: NativeAddon; error?: Error } {
  if (process.env.ANNALS_DISABLE_NATIVE === '1') {
    return { error: new Error('disabled by ANNALS_DISABLE_NATIVE=1') };
  }
  try {
    const require = createRequire(import.meta.url);
    return { addon: require(nativeBinaryPath()) as NativeAddon };
  } catch (err) {
    return { error: err instanceof Error ? err : new Error(String(err)) };
  }
}

/** The addon, or undefined when it cannot load on this machine. */
export function nativeAddon(): NativeAddon | undefined {
  cached ??= load();
  return cached.addon;
}

/** Why the addon did not load (undefined when it did). */
export function nativeLoadError(): Error | undefined {
  cached ??= load();
  return cached.error;
}
