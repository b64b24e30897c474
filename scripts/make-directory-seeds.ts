/**
 * Writes the seed inputs of the fuzz target directory_reader under
 * native/fuzz/corpus/directory_reader/: small stream directories of each shape the reader meets
 * (one leaf, two levels, three levels, ids on overflow pages, empty), each under the 64 KiB that
 * `npm run fuzz` lets an input grow to. Run: node --import tsx scripts/make-directory-seeds.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DirectoryInput } from '../lib/index/directory-backend.js';
import { JsDirectoryBackend } from '../lib/index/js-directory.js';

const root = path.join(import.meta.dirname, '..', 'native', 'fuzz', 'corpus', 'directory_reader');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-seeds-'));

function input(ids: string[]): DirectoryInput {
  const bytes = ids.map((id) => Buffer.from(id, 'utf8'));
  let end = 0;
  return {
    ids: Buffer.concat(bytes),
    idEnds: Uint32Array.from(bytes, (b) => (end += b.length)),
    firstVersion: Uint32Array.from(ids, (_, i) => (i % 3) + 1),
    lastVersion: Uint32Array.from(ids, (_, i) => (i % 3) + 4),
    firstPosition: Float64Array.from(ids, (_, i) => 64 + i * 100),
    lastPosition: Float64Array.from(ids, (_, i) => 64 + i * 100 + 50),
  };
}

const shapes: Record<string, string[]> = {
  // One leaf: short ids, multi-byte UTF-8, ids that are prefixes of others.
  small: Array.from({ length: 30 }, (_, i) => (i % 4 === 0 ? `s-${i}-é` : i % 5 === 0 ? `😀s-${i}` : `s-${i}`)).concat(['s-1', 's-']),
  'two-levels': Array.from({ length: 400 }, (_, i) => `stream-${i}`),
  // Ids of 1024 bytes sharing 1023 with their neighbours: three to a leaf, four separators to an
  // internal page (the first is empty), so five leaves take three levels.
  'three-levels': Array.from({ length: 13 }, (_, i) => `${'p'.repeat(1000)}${String(i).padStart(24, '0')}`),
  // Ids on overflow pages, the second leaf's separator too (it is 5001 bytes long).
  overflow: ['a', ...[1, 2, 3, 4].map((i) => `${'x'.repeat(5000)}${i}`), 'z'],
  empty: [],
};
fs.mkdirSync(root, { recursive: true });
const backend = new JsDirectoryBackend();
for (const [name, ids] of Object.entries(shapes)) {
  // Unique ids: the shapes above repeat none but 's-1' in `small`, which the Set drops.
  await backend.build(dir, `${name}.dir`, { fromPosition: 64, toPosition: 64 + ids.length * 100 }, input([...new Set(ids)]));
  fs.copyFileSync(path.join(dir, `${name}.dir`), path.join(root, name));
}
fs.rmSync(dir, { recursive: true, force: true });
console.log(`seeds written under ${root}`);
