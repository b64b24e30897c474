/** The worker thread's nice value (Linux): below the appends', so they take the CPU first. */
const WORKER_NICE = 19;

/**
 * The worker thread a scavenge runs its chunk passes in (scavenge-pass.ts), started by
 * scavenge-runner.ts for one scavenge. Messages from the runner: `pass` (one chunk; one at a time)
 * and `reply` (to a question of this worker's); to it: `ask` (the rules of new stream ids),
 * `step` (a step of the pass reached: the runner acknowledges once its hook ran), `done` (the
 * result, its arrays transferred) or `failed`. The stop flag in shared memory is read between
 * blocks, so a stop does not wait for a message.
 */
import fs from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { errorParts } from './error-transfer.js';
import { toAnnalsError } from './errors.js';
import { type PassDeps, type PassResult, runPass } from './scavenge-pass.js';
import { RuleCache } from './scavenge-rule-cache.js';
import { Pacer, type PassMessage, type WorkerInit, type WorkerMessage } from './scavenge-runner.js';

const port = parentPort;
lowerPriority();

/** Linux: this thread yields the CPU to the appends' (a thread's nice value is its own). */
function lowerPriority(): void {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0) os.setPriority(tid, WORKER_NICE);
  } catch {
    // no /proc (not Linux), or not allowed: the worker runs at the process's priority
  }
}
if (!port) throw new Error('scavenge-worker.ts runs as a worker thread');
const init = workerData as WorkerInit;
const pacer = new Pacer(new Int32Array(init.control), init.maxBytesPerSecond);
const replies = new Map<number, (value: unknown) => void>();
let asked = 0;
let rulesEpoch = 0;

function question<T>(msg: { type: 'ask'; ids: string[] } | { type: 'step'; step: string }): Promise<T> {
  const id = ++asked;
  port?.postMessage({ ...msg, id } satisfies WorkerMessage);
  return new Promise<T>((resolve) => replies.set(id, resolve as (value: unknown) => void));
}

const deps: PassDeps = {
  keys: new Set(init.keys),
  rules: new RuleCache(),
  ask: (ids) => question({ type: 'ask', ids }),
  pace: (bytes) => pacer.pace(bytes),
  step: async (step) => {
    if (init.steps) await question({ type: 'step', step });
  },
};

const transfers = (r: PassResult) =>
  [r.logical, r.offsets, r.survivorOf, r.survivorPositions, r.survivorVersions].map((a) => a.buffer as ArrayBuffer);

port.on('message', (m: PassMessage) => {
  if (m.type === 'reply') {
    replies.get(m.id)?.(m.value);
    replies.delete(m.id);
    return;
  }
  if (m.req.rulesEpoch !== rulesEpoch) {
    deps.rules.clear();
    rulesEpoch = m.req.rulesEpoch;
  }
  runPass(m.req, deps).then(
    (result) => port.postMessage({ type: 'done', result } satisfies WorkerMessage, result ? transfers(result) : []),
    // An fs error is typed here, as the native pass's are in the addon: it crosses as that class
    // (DiskFullError for ENOSPC), not as a plain Error with an fs code.
    (err: unknown) =>
      port.postMessage({ type: 'failed', error: errorParts(toAnnalsError(err, `scavenge chunk ${m.req.n}: `)) } satisfies WorkerMessage),
  );
});
