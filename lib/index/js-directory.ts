/**
 * The JS engine's stream directory backend: the same files as native/directory_*.cc, read page by
 * page with pread (js-directory-reader.ts) and written by a TypeScript builder on the event loop
 * (js-directory-writer.ts).
 */
import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import { readExactly } from '../engine/js-chunk-file.js';
import { CorruptionError, InvalidArgumentError, toAnnalsError } from '../errors.js';
import { crc32c } from '../format/crc32c.js';
import {
  DIRECTORY_FORMAT_VERSION,
  DIRECTORY_MAGIC,
  DIRECTORY_MAX_ID_BYTES,
  DIRECTORY_MAX_POSITION,
  DIRECTORY_PAGE_SIZE,
  decodeDirectoryHeader,
} from '../format/directory-layout.js';
import {
  type DirectoryBackend,
  type DirectoryEntry,
  type DirectoryInput,
  type DirectoryReader,
  type DirectorySpec,
  mergeListings,
} from './directory-backend.js';
import { JsDirectoryReader, type RawEntry } from './js-directory-reader.js';
import { JsDirectoryWriter } from './js-directory-writer.js';
import { type ReadCacheBudget, UNBOUNDED_READ_CACHE } from './read-cache.js';

/** The input's ids as views of `input.ids`, each checked. */
function idsOf(input: DirectoryInput): Buffer[] {
  const n = input.idEnds.length;
  const { firstVersion, lastVersion, firstPosition, lastPosition } = input;
  if (firstVersion.length !== n || lastVersion.length !== n || firstPosition.length !== n || lastPosition.length !== n) {
    throw new InvalidArgumentError('directory input arrays differ in length');
  }
  const ids: Buffer[] = new Array(n);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = input.idEnds[i] as number;
    if (end < start || end > input.ids.length) throw new InvalidArgumentError('id ends out of order or past the ids');
    if (end - start > DIRECTORY_MAX_ID_BYTES) {
      throw new InvalidArgumentError(`a stream id of ${end - start} bytes is longer than ${DIRECTORY_MAX_ID_BYTES}`);
    }
    const id = input.ids.subarray(start, end);
    if (!isUtf8(id)) throw new InvalidArgumentError('a stream id is not valid UTF-8');
    ids[i] = id;
    start = end;
    for (const p of [firstPosition[i] as number, lastPosition[i] as number]) {
      if (!Number.isInteger(p) || p < 0 || p > DIRECTORY_MAX_POSITION) {
        throw new InvalidArgumentError(`a position of ${p} is not an integer from 0 to 2^48-1`);
      }
    }
  }
  return ids;
}

/** Writes the entries `fill` adds, publishing the file whole or removing it. */
function write(dir: string, name: string, spec: DirectorySpec, fill: (w: JsDirectoryWriter) => void): void {
  const writer = new JsDirectoryWriter(dir, name, spec);
  try {
    fill(writer);
    writer.finish();
  } catch (err) {
    writer.abort();
    throw toAnnalsError(err, `build ${path.join(dir, name)}: `);
  }
}

/** Entries of inputs (oldest first) in id order, an id in several combined: first values from the
 * oldest holding it, last values from the newest. */
function* mergeEntries(inputs: JsDirectoryReader[]): Generator<RawEntry> {
  const its = inputs.map((r) => r.entries());
  const heads = its.map((it) => it.next().value as RawEntry | undefined);
  for (;;) {
    let least: Buffer | undefined;
    for (const h of heads) if (h && (!least || Buffer.compare(h.id, least) < 0)) least = h.id;
    if (!least) return;
    let out: RawEntry | undefined;
    for (let j = 0; j < heads.length; j++) {
      const h = heads[j];
      if (!h?.id.equals(least)) continue;
      if (out) {
        out.lastVersion = h.lastVersion;
        out.lastPosition = h.lastPosition;
      } else {
        out = { ...h };
      }
      heads[j] = (its[j] as Generator<RawEntry>).next().value as RawEntry | undefined;
    }
    yield out as RawEntry;
  }
}

export class JsDirectoryBackend implements DirectoryBackend {
  /** `cache`: the store's read-cache budget, shared by its segment and directory readers. */
  constructor(private readonly cache: ReadCacheBudget = UNBOUNDED_READ_CACHE()) {}

  listMany(readers: DirectoryReader[], after: string | undefined, prefix: string | undefined, limit: number): DirectoryEntry[] {
    return mergeListings(
      readers.map((r) => r.page(after, prefix, limit)),
      limit,
    ).entries;
  }

  open(file: string): DirectoryReader {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const raw = readExactly(fd, DIRECTORY_PAGE_SIZE, 0);
      const header = raw && decodeDirectoryHeader(raw);
      if (!header || size !== header.pageCount * DIRECTORY_PAGE_SIZE) {
        // An intact header of another format version is not damage: say so (it is rebuilt either way).
        if (
          raw?.subarray(0, 8).equals(DIRECTORY_MAGIC) &&
          raw.readUInt32LE(124) === crc32c(raw, 0, 0, 124) &&
          raw[8] !== DIRECTORY_FORMAT_VERSION
        ) {
          throw new CorruptionError(`stream directory ${file} has format version ${raw[8]}, this build reads ${DIRECTORY_FORMAT_VERSION}`);
        }
        throw new CorruptionError(`stream directory ${file} at offset 0: invalid header`);
      }
      return new JsDirectoryReader(file, fd, header, this.cache);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  async build(dir: string, name: string, spec: DirectorySpec, input: DirectoryInput): Promise<void> {
    const ids = idsOf(input);
    const order = Uint32Array.from({ length: ids.length }, (_, i) => i);
    order.sort((a, b) => Buffer.compare(ids[a] as Buffer, ids[b] as Buffer));
    write(dir, name, spec, (w) => {
      for (const i of order) {
        w.add(ids[i] as Buffer, {
          firstVersion: input.firstVersion[i] as number,
          lastVersion: input.lastVersion[i] as number,
          firstPosition: input.firstPosition[i] as number,
          lastPosition: input.lastPosition[i] as number,
        });
      }
    });
  }

  async merge(dir: string, name: string, spec: DirectorySpec, inputs: DirectoryReader[]): Promise<void> {
    const readers = inputs.map((r) => {
      if (!(r instanceof JsDirectoryReader)) throw new InvalidArgumentError('inputs must be directories opened by this backend');
      return r;
    });
    for (let i = 1; i < readers.length; i++) {
      if ((readers[i - 1] as JsDirectoryReader).header.toPosition > (readers[i] as JsDirectoryReader).header.fromPosition) {
        throw new InvalidArgumentError('directories to merge must be of adjacent log ranges, oldest first');
      }
    }
    write(dir, name, spec, (w) => {
      for (const e of mergeEntries(readers)) w.add(e.id, e);
    });
  }
}
