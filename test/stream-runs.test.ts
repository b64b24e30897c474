/**
 * A memtable's stream entries (lib/index/stream-runs.ts) against a plain model: runs of one event
 * and of many, streams continued across adds, growth of the columns, and a replayed log that skips
 * a version; and the entries a build takes, in arrays reused from one build to the next.
 */
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../lib/errors.js';
import { SEGMENT_KIND_COMMAND, SEGMENT_KIND_STREAM } from '../lib/format/index-layout.js';
import { keyOf } from '../lib/format/key-hash.js';
import { EntryArrays } from '../lib/index/entry-arrays.js';
import { Memtable } from '../lib/index/memtable.js';
import { newSegmentEntries } from '../lib/index/segment-backend.js';
import { StreamRuns } from '../lib/index/stream-runs.js';

describe('StreamRuns', () => {
  it('answers latest, positionOf, range and toEntries as a map of position arrays would', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const runs = new StreamRuns();
    const model = new Map<string, { first: number; positions: number[] }>();
    let position = 64;
    // 3,000 streams (past the columns' first sizes), most with one event, some with many.
    for (let op = 0; op < 5000; op++) {
      const id = `s-${rand(3000)}`;
      const n = rand(4) === 0 ? 1 + rand(5) : 1;
      const positions = Array.from({ length: n }, () => (position += 100 + rand(50)));
      const m = model.get(id);
      const first = m ? m.first + m.positions.length : 1 + rand(3) * 10;
      runs.add(id, first, positions);
      if (m) m.positions.push(...positions);
      else model.set(id, { first, positions: [...positions] });
    }
    let events = 0;
    let started = 0;
    for (const [id, m] of model) {
      const last = m.first + m.positions.length - 1;
      events += m.positions.length;
      if (m.first === 1) started++;
      expect(runs.latest(id)).toEqual({ version: last, position: m.positions[m.positions.length - 1] });
      expect(runs.positionOf(id, m.first - 1)).toBeUndefined();
      expect(runs.positionOf(id, last + 1)).toBeUndefined();
      const v = m.first + rand(m.positions.length);
      expect(runs.positionOf(id, v)).toBe(m.positions[v - m.first]);
      expect(runs.range(id, 0, 2 ** 32)).toEqual(m.positions);
      expect(runs.range(id, v, v + 1)).toEqual(m.positions.slice(v - m.first, v - m.first + 2));
      expect(runs.range(id, last + 1, last + 5)).toEqual([]);
    }
    expect(runs.latest('never')).toBeUndefined();
    expect(runs.range('never', 1, 10)).toEqual([]);
    expect(runs.events).toBe(events);
    expect(runs.started()).toBe(started);

    const entries = runs.toEntries(newSegmentEntries(events));
    expect(entries.position.length).toBe(events);
    const got = new Map<string, number>();
    for (let i = 0; i < events; i++) got.set(`${entries.hi[i]}:${entries.lo[i]}:${entries.seq[i]}`, entries.position[i] as number);
    for (const [id, m] of model) {
      const k = keyOf(id);
      m.positions.forEach((p, j) => {
        expect(got.get(`${k.hi}:${k.lo}:${m.first + j}`)).toBe(p);
      });
    }
  });

  it('refuses a version that does not continue the stream (a replayed log that skips or repeats one)', () => {
    const runs = new StreamRuns();
    runs.add('a', 1, [64]);
    runs.add('a', 2, [200, 300]);
    expect(() => runs.add('a', 5, [400])).toThrow(CorruptionError);
    expect(() => runs.add('a', 3, [400])).toThrow(CorruptionError);
    expect(runs.latest('a')).toEqual({ version: 3, position: 300 });
    expect(runs.events).toBe(3);
  });
});

describe('memtable entries in reused arrays (EntryArrays)', () => {
  it('fill exactly the entries of each build, whatever a larger earlier one left behind', () => {
    const arrays = new EntryArrays();
    const take = (n: number) => arrays.take(n);
    const fill = (streams: number, perStream: number) => {
      const m = new Memtable(64);
      let p = 64;
      for (let v = 1; v <= perStream; v++)
        for (let s = 0; s < streams; s++) {
          m.addStream(`s-${s}`, v, [p]);
          m.addCommand(keyOf(`c-${p}`), [p]);
          p += 100;
        }
      return m;
    };
    for (const [streams, perStream] of [
      [50, 40],
      [7, 3],
      [300, 1],
    ] as const) {
      const m = fill(streams, perStream);
      for (const kind of [SEGMENT_KIND_STREAM, SEGMENT_KIND_COMMAND] as const) {
        const fresh = m.toEntries(kind);
        const reused = m.toEntries(kind, take);
        expect(reused.hi.length).toBe(streams * perStream);
        expect([...reused.hi]).toEqual([...fresh.hi]);
        expect([...reused.lo]).toEqual([...fresh.lo]);
        expect([...reused.seq]).toEqual([...fresh.seq]);
        expect([...reused.position]).toEqual([...fresh.position]);
      }
    }
  });
});
