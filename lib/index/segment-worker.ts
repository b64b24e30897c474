/**
 * The worker thread a JS-engine store builds and merges its index segments in (started by
 * segment-worker-client.ts, at most one per store), so the event loop keeps serving appends while
 * a segment is sorted and written. Messages from the client, one at a time: `build` (unsorted
 * entries, their arrays transferred) and `merge` (the input files' paths: the worker opens them
 * itself; they stay in place until the merge is answered); to it: `done` or `failed` (the error's
 * parts, error-transfer.ts). The files are the ones an in-thread build writes
 * (js-segment-writer.ts), with the same syncs.
 */
import { parentPort } from 'node:worker_threads';
import { errorParts } from '../error-transfer.js';
import { toAnnalsError } from '../errors.js';
import { type JsSegmentReader, openJsSegment } from './js-segment-reader.js';
import { buildSegmentFile, mergeSegmentFiles, WriterScratch } from './js-segment-writer.js';
import { UNBOUNDED_READ_CACHE } from './read-cache.js';
import type { SegmentJob, SegmentJobAnswer } from './segment-worker-client.js';

const port = parentPort;
if (!port) throw new Error('segment-worker.ts runs as a worker thread');
const scratch = new WriterScratch();

function merge(job: Extract<SegmentJob, { type: 'merge' }>): void {
  const readers: JsSegmentReader[] = [];
  try {
    // Leaf pages only: nothing is kept in the cache, whatever its budget.
    const cache = UNBOUNDED_READ_CACHE();
    for (const file of job.inputs) readers.push(openJsSegment(file, cache));
    mergeSegmentFiles(job.dir, job.name, job.spec, readers, scratch);
  } finally {
    for (const r of readers) r.close();
  }
}

port.on('message', (job: SegmentJob) => {
  let answer: SegmentJobAnswer;
  try {
    if (job.type === 'build') buildSegmentFile(job.dir, job.name, job.spec, job.entries, scratch);
    else merge(job);
    answer = { type: 'done' };
  } catch (err) {
    answer = { type: 'failed', error: errorParts(toAnnalsError(err, `${job.type} ${job.name}: `)) };
  }
  port.postMessage(answer);
});
