import { describe, expect, it } from 'vitest';
import { LimitExceededError, WrongExpectedVersionError } from '../lib/errors.js';
import { type LifecycleDeps, StreamLifecycle } from '../lib/stream-lifecycle.js';
import type { StreamMetadataRegistry } from '../lib/stream-metadata.js';

/** A lifecycle whose every floor change meets a concurrent metadata write. */
function contended(): { lifecycle: StreamLifecycle; commits: number; recorded: string[] } {
  const state = { commits: 0, recorded: [] as string[] };
  const registry = {
    floorChange: (_id: string, version: number) => ({ meta: { versionFloor: version }, metaVersion: 3 }),
    eventData: () => ({}),
    record: (id: string) => state.recorded.push(id),
  } as unknown as StreamMetadataRegistry;
  const deps = {
    registry,
    commitEach: async (items: { streamId: string; expectedVersion: number }[]) => {
      state.commits++;
      return items.map((i) => new WrongExpectedVersionError(i.streamId, i.expectedVersion, i.expectedVersion + 1));
    },
    flush: async () => {},
  } as unknown as LifecycleDeps;
  return Object.assign(state, { lifecycle: new StreamLifecycle(deps) });
}

describe('version floors under contention', () => {
  it('stop after a bounded number of rounds with LIMIT_EXCEEDED, having recorded nothing', async () => {
    const c = contended();
    const err = await c.lifecycle
      .raiseFloors(
        new Map([
          ['a', 4],
          ['b', 9],
        ]),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect((err as Error).message).toMatch(/version floors of 2 streams .* run the scavenge again/);
    expect(c.commits).toBe(5);
    expect(c.recorded).toEqual([]);
  });
});
