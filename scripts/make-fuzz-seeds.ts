/**
 * Writes the seed inputs of the fuzz targets under native/fuzz/corpus/<target>/ from real files:
 * a small store's chunk data and a small index segment. Run: node --import tsx scripts/make-fuzz-seeds.ts
 * (directory_reader's seeds come from scripts/make-directory-seeds.ts)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SEGMENT_KIND_STREAM } from '../lib/format/index-layout.js';
import { JsSegmentBackend } from '../lib/index/js-segments.js';
import { EventStore } from '../lib/index.js';

const root = path.join(import.meta.dirname, '..', 'native', 'fuzz', 'corpus');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annals-seeds-'));
const store = await EventStore.open(dir, { engine: 'js', chunkSize: 1 << 20, indexMemtableEntries: 40 });
for (let i = 0; i < 30; i++) await store.append(`s-${i % 3}`, [{ type: 'T', data: { i } }, { type: 'U' }], { commandId: `c-${i}` });
await store.close();
const chunk = fs.readFileSync(path.join(dir, 'chunks', '00000000.chunk'));
const end = chunk.indexOf(Buffer.alloc(64), 64);
const data = chunk.subarray(64, end);
const write = (target: string, name: string, bytes: Uint8Array) => {
  fs.mkdirSync(path.join(root, target), { recursive: true });
  fs.writeFileSync(path.join(root, target, name), bytes);
};
write('record_scanner', 'frames', data);
write('record_scanner', 'torn', data.subarray(0, data.length - 7));
const checkpoint = Buffer.alloc(16);
checkpoint.writeUIntLE(64 + 200, 0, 6);
write('chunk_recovery', 'frames', Buffer.concat([checkpoint, data]));
write('chunk_recovery', 'no-checkpoint', data);
const seg = fs.readdirSync(path.join(dir, 'index')).find((f) => f.startsWith('stream-')) as string;
write('segment_reader', 'small', fs.readFileSync(path.join(dir, 'index', seg)));
const commands = fs.readdirSync(path.join(dir, 'index')).find((f) => f.startsWith('command-')) as string;
write('segment_reader', 'command-small', fs.readFileSync(path.join(dir, 'index', commands)));
const n = 400;
await new JsSegmentBackend().build(
  dir,
  'big.seg',
  { kind: SEGMENT_KIND_STREAM, fromPosition: 64, toPosition: 99_999 },
  {
    hi: Uint32Array.from({ length: n }, (_, i) => i % 7),
    lo: Uint32Array.from({ length: n }, (_, i) => i * 31),
    seq: Uint32Array.from({ length: n }, (_, i) => i),
    position: Float64Array.from({ length: n }, (_, i) => 64 + i * 10),
  },
);
write('segment_reader', 'three-levels', fs.readFileSync(path.join(dir, 'big.seg')));
fs.rmSync(dir, { recursive: true, force: true });
console.log(`seeds written under ${root}`);
