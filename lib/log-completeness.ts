/**
 * Whether the chunk files hold all the log that the store's other files say was written. The
 * writer checkpoint records how far the log was durable, and each index segment's name the log
 * range it covers (segments are built only from durable records). A missing tail chunk shows as
 * either reaching past the chunk files present: the store must then refuse to open for writing,
 * since recovery would take the shorter log for the whole one, rewrite the checkpoint and drop the
 * segments past its end, and the loss would be silent. (A gap among the chunk numbers is refused
 * by the engines themselves.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { CHECKPOINT_FILE, CHUNK_HEADER_SIZE, chunkFileName, dataCapacityEnd, decodeCheckpoint } from './format/layout.js';

const CHUNK = /^\d{8}\.chunk$/;
const SEGMENT = /^(stream|command)-([0-9a-f]{12})-([0-9a-f]{12})\.seg$/;

export interface MissingLog {
  /** The file that says more log exists. */
  file: string;
  /** How far it says the log reaches. */
  reaches: number;
  message: string;
}

export interface LogClaims {
  /** The first sign of log data missing from the end of the chunk files, if any. */
  missing?: MissingLog;
  /** How far the index segments cover the log: durable, so recovery must never cut below it. */
  indexedEnd: number;
}

/** What the checkpoint and the index segments of store `dir` say of its log. */
export function logClaims(dir: string, chunkSize: number): LogClaims {
  const chunksDir = path.join(dir, 'chunks');
  if (!fs.existsSync(chunksDir)) return { indexedEnd: 0 };
  const count = fs.readdirSync(chunksDir).filter((n) => CHUNK.test(n)).length;
  // The furthest the present chunks can reach: the last one's data capacity, or, once it is sealed,
  // the first position of the next one, where the log's end stands until an append creates it.
  const sealedEnd = count * chunkSize + CHUNK_HEADER_SIZE;
  const present = count === 0 ? CHUNK_HEADER_SIZE : (count - 1) * chunkSize + dataCapacityEnd(chunkSize);
  const beyond = (end: number) => end > present && end !== sealedEnd;
  const describe = (file: string, reaches: number, what: string): MissingLog => ({
    file,
    reaches,
    message: `${what} reaches log position ${reaches}, past the ${count} chunk files present: ${path.join(chunksDir, chunkFileName(Math.floor((reaches - 1) / chunkSize)))} is missing`,
  });
  const cpFile = path.join(chunksDir, CHECKPOINT_FILE);
  const raw = fs.existsSync(cpFile) ? fs.readFileSync(cpFile) : undefined;
  const cp = raw && decodeCheckpoint(raw);
  const indexDir = path.join(dir, 'index');
  const names = fs.existsSync(indexDir) ? fs.readdirSync(indexDir) : [];
  let furthest: { name: string; to: number } | undefined;
  for (const name of names) {
    const to = Number.parseInt(SEGMENT.exec(name)?.[3] ?? '', 16);
    if (Number.isFinite(to) && (!furthest || to > furthest.to)) furthest = { name, to };
  }
  const indexedEnd = furthest?.to ?? 0;
  if (cp && beyond(cp.durableEnd)) return { missing: describe(cpFile, cp.durableEnd, 'the writer checkpoint'), indexedEnd };
  if (furthest && beyond(furthest.to)) {
    return { missing: describe(path.join(indexDir, furthest.name), furthest.to, `index segment ${furthest.name}`), indexedEnd };
  }
  return { indexedEnd };
}
