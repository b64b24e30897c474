/**
 * Checks a trace at its cuts: replays it once, front to back, and at each cut materializes the
 * strict image and `random` random ones, opens each with the engine that wrote the store (and
 * every `crossEvery`th also with the other engine) and checks it against the appends acknowledged
 * before the cut.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EngineName } from '../../lib/index.js';
import { checkImage, type ImageResult } from './check.js';
import type { Cut, Workload } from './harness.js';
import { materialize, Rng } from './image.js';
import { Replayer } from './replay.js';
import type { TraceRecord } from './trace-format.js';

export interface CutOptions {
  /** Random images per cut besides the strict one. */
  random: number;
  /** Seed of the random images: image v of the cut at k uses seed * 1000 + 7k + v. */
  seed: number;
  mkdirDurable: boolean;
  /** Every how many images one is also opened by the other engine (0: never). */
  crossEvery: number;
  /** Count partial command reads apart instead of as failures (a known defect). */
  allowPartialReads: boolean;
  /** The engines that can run here. */
  engines: EngineName[];
  /** Where images are made (each removed once checked). */
  scratch: string;
}

export interface Outcome {
  images: number;
  crossEngine: number;
  acknowledged: number;
  lost: number;
  torn: number;
  partialReads: number;
  /** One line per image that failed a check: cut, variant, seed, what went wrong. */
  failures: string[];
  /** Directories whose entry in their parent no sync covered, at the last cut. */
  undurableMkdirs: string[];
}

function describeFailure(cut: Cut, seed: number | undefined, engine: EngineName, r: ImageResult, o: CutOptions): string | undefined {
  const issues = [...r.problems];
  if (r.lost.length > 0)
    issues.unshift(`${r.lost.length} of ${r.acksChecked} acknowledged appends lost (${r.lost.slice(0, 3).join(', ')})`);
  if (!o.allowPartialReads && r.partialReads.length > 0) issues.push(`partial command reads: ${r.partialReads.slice(0, 3).join(', ')}`);
  if (issues.length === 0) return undefined;
  const variant = seed === undefined ? 'strict' : `random seed ${seed}`;
  return `cut at record ${cut.at} (${cut.label}), ${variant}, opened by ${engine}: ${issues.slice(0, 4).join('; ')}`;
}

export async function checkCuts(w: Workload, records: TraceRecord[], engine: EngineName, cuts: Cut[], o: CutOptions): Promise<Outcome> {
  const replayer = new Replayer(w.root, w.ackFile);
  const out: Outcome = { images: 0, crossEngine: 0, acknowledged: 0, lost: 0, torn: 0, partialReads: 0, failures: [], undurableMkdirs: [] };
  const other: EngineName = engine === 'native' ? 'js' : 'native';
  for (const cut of cuts) {
    replayer.applyAll(records, cut.at);
    for (let v = 0; v <= o.random; v++) {
      const seed = v === 0 ? undefined : o.seed * 1000 + cut.at * 7 + v;
      const engines = [engine];
      if (o.crossEvery > 0 && o.engines.includes(other) && (out.images + 1) % o.crossEvery === 0) engines.push(other);
      for (const e of engines) {
        const dir = path.join(o.scratch, `image-${engine}-${cut.at}-${v}-${e}`);
        materialize(replayer, 'store', dir, { rng: seed === undefined ? undefined : new Rng(seed), mkdirDurable: o.mkdirDurable });
        const r = await checkImage(dir, e, replayer.acks);
        fs.rmSync(dir, { recursive: true, force: true });
        out.images++;
        if (e !== engine) out.crossEngine++;
        out.acknowledged += r.acksChecked;
        out.lost += r.lost.length;
        out.partialReads += r.partialReads.length;
        if (r.torn) out.torn++;
        const failure = describeFailure(cut, seed, e, r, o);
        if (failure) out.failures.push(failure);
      }
    }
  }
  out.undurableMkdirs = replayer.undurableMkdirs();
  return out;
}
