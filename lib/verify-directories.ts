/**
 * verify's check of the stream directory files (`index/directory-*.dir`): every page readable,
 * every entry true to the log (its stream's first and last records in the file's range are where
 * it says, with those versions), and the files covering the log from its start without a gap.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError } from './errors.js';
import { SEGMENT_KIND_STREAM } from './format/index-layout.js';
import { keyOf } from './format/key-hash.js';
import { CHUNK_HEADER_SIZE } from './format/layout.js';
import type { DirectoryEntry } from './index/directory-backend.js';
import { JsDirectoryBackend } from './index/js-directory.js';
import type { RecordKeys } from './verify-records.js';

const NAME = /^directory-([0-9a-f]{12})-([0-9a-f]{12})\.dir$/;
/** Entries read at once while walking a file. */
const PAGE = 10_000;

type Fault = (file: string, offset: number, problem: string) => void;

export function verifyDirectories(
  dir: string,
  records: RecordKeys,
  report: { segments: number; indexEntries: number },
  fault: Fault,
): void {
  if (!fs.existsSync(dir)) return;
  const files = fs
    .readdirSync(dir)
    .map((name) => ({ name, m: NAME.exec(name) }))
    .filter((f) => f.m)
    .map((f) => ({ file: path.join(dir, f.name), from: Number.parseInt(f.m?.[1] ?? '', 16), to: Number.parseInt(f.m?.[2] ?? '', 16) }))
    .sort((a, b) => a.from - b.from);
  const backend = new JsDirectoryBackend();
  let expected = CHUNK_HEADER_SIZE;
  for (const f of files) {
    if (f.from > expected) fault(f.file, 0, `no stream directory covers log positions [${expected}, ${f.from})`);
    expected = Math.max(expected, f.to);
    report.segments++;
    try {
      const reader = backend.open(f.file);
      try {
        for (let after: string | undefined; ; ) {
          const page = reader.page(after, undefined, PAGE);
          for (const e of page) checkEntry(f, e, records, fault);
          if (page.length < PAGE) break;
          after = (page[page.length - 1] as DirectoryEntry).streamId;
        }
      } finally {
        reader.close();
      }
    } catch (err) {
      if (!(err instanceof CorruptionError)) throw err;
      fault(f.file, 0, err.message);
    }
  }
}

function checkEntry(f: { file: string; from: number; to: number }, e: DirectoryEntry, records: RecordKeys, fault: Fault): void {
  const key = keyOf(e.streamId);
  const at = (position: number, version: number) => {
    const r = records.find(position);
    return (
      r >= 0 &&
      position >= f.from &&
      position < f.to &&
      records.keyMatches(r, SEGMENT_KIND_STREAM, key.hi, key.lo) &&
      records.version[r] === version
    );
  };
  if (e.firstVersion > e.lastVersion || !at(e.firstPosition, e.firstVersion) || !at(e.lastPosition, e.lastVersion)) {
    fault(
      f.file,
      0,
      `stream directory entry of '${e.streamId.slice(0, 40)}' does not match the records at positions ${e.firstPosition} and ${e.lastPosition}`,
    );
  }
}
