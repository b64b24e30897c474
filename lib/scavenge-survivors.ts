/**
 * What a scavenge learns about the streams with rules, for the steps after the chunk passes: each
 * stream's rules as the scavenge judged it, and the events of those streams that survived, which
 * patch the stream directory files over the rewritten chunks (index/directory-patch.ts) instead of
 * rebuilding them from the log.
 *
 * Invariant: while `complete`, `of(streamId)` lists every survivor of a stream judged by rules in
 * the chunks passed so far; past MAX_SURVIVORS, past the rule caches' bound on the characters of
 * its streams' ids (scavenge-rule-cache.ts: ids may be long), or when the scavenge clears its rules,
 * it is no longer complete, and the directory files are rebuilt from the log.
 */
import type { PassResult } from './scavenge-pass.js';
import { DEFAULT_RULE_CACHE_BOUNDS, RuleCache, type RuleCacheBounds } from './scavenge-rule-cache.js';
import type { Retention } from './stream-metadata.js';

/** Surviving events of streams with rules a scavenge remembers for patching directory files. */
const MAX_SURVIVORS = 2_000_000;

export class Survivors {
  private readonly byStream = new Map<string, number[]>();
  private count = 0;
  /** Characters of byStream's ids. */
  private chars = 0;
  complete = true;
  /** Each stream's rules as this scavenge judged it (null: none), looked up once per stream. */
  readonly rules: RuleCache<Retention | null>;
  /** Moves on each time `rules` is cleared (PassRequest.rulesEpoch). */
  rulesEpoch = 0;

  /** `bounds`: of the rules, and of the characters of the ids of the streams with survivors. */
  constructor(private readonly bounds: Readonly<RuleCacheBounds> = DEFAULT_RULE_CACHE_BOUNDS) {
    this.rules = new RuleCache(bounds);
  }

  add(streamId: string, position: number, version: number): void {
    if (!this.complete) return;
    if (++this.count > MAX_SURVIVORS) {
      this.complete = false;
      this.byStream.clear();
      return;
    }
    const pairs = this.byStream.get(streamId);
    if (pairs) {
      pairs.push(position, version);
      return;
    }
    this.chars += streamId.length;
    if (this.chars > this.bounds.chars) {
      this.complete = false;
      this.byStream.clear();
    } else this.byStream.set(streamId, [position, version]);
  }

  /** The survivors of streams with rules a chunk's pass saw. */
  addAll(p: PassResult): void {
    for (let i = 0; i < p.survivorOf.length; i++)
      this.add(p.survivorIds[p.survivorOf[i] as number] as string, p.survivorPositions[i] as number, p.survivorVersions[i] as number);
  }

  /** The stream's [position, version] pairs; [] for a stream judged by rules with no survivor;
   * undefined for one without rules (nothing of it was removed). */
  of(streamId: string): number[] | undefined {
    const pairs = this.byStream.get(streamId);
    if (pairs) return pairs;
    const r = this.rules.get(streamId);
    return r === undefined || r === null ? undefined : [];
  }
}
