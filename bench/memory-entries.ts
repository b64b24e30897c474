/**
 * Measures the bytes per entry of each in-memory index structure the memory budget divides
 * (lib/memory-budget.ts takes its constants from this): fills each with N entries shaped like the
 * e2e workload's (stream ids of a dozen characters, UUID command ids, events of one category and
 * a few types) and divides the growth of V8's heap plus array buffers, after a full GC, by N.
 * Run: node --expose-gc --import tsx bench/memory-entries.ts [N]
 */

import { SEGMENT_KIND_CATEGORY, SEGMENT_KIND_TYPE } from '../lib/format/index-layout.js';
import { keyOf } from '../lib/format/key-hash.js';
import { LatestVersions } from '../lib/index/latest-versions.js';
import { Memtable } from '../lib/index/memtable.js';
import { RecentKeys } from '../lib/index/recent-keys.js';

const N = Number(process.argv[2] ?? 500_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function used(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function measure(name: string, fill: () => unknown): void {
  const before = used();
  const kept = fill();
  const after = used();
  console.log(`${name.padEnd(16)} ${((after - before) / N).toFixed(1)} bytes/entry`);
  if (kept === undefined) throw new Error('unreachable');
}

const streamId = (i: number) => `account-${i.toString().padStart(7, '0')}`;
measure('latestVersions', () => {
  const d = new LatestVersions(0);
  for (let i = 0; i < N; i++) d.set(streamId(i), 1, i * 100, i);
  return d;
});
measure('recentCommands', () => {
  const d = new RecentKeys(0);
  for (let i = 0; i < N; i++) d.add(keyOf(`${crypto.randomUUID()}`), i, i + 2);
  return d;
});
measure('memtable', () => {
  // Per index entry (what indexMemtableEntries counts): an event of 10 per stream, with a command
  // id per append, its category and type entries.
  const m = new Memtable(0, 0);
  const cat = keyOf('account');
  const types = ['Opened', 'Deposited', 'Withdrawn'].map((t) => keyOf(t));
  let p = 0;
  for (let s = 0; m.entries < N; s++) {
    for (let v = 1; v <= 10; v++) {
      m.addStream(streamId(s), v, [p]);
      m.addCommand(keyOf(crypto.randomUUID()), [p]);
      m.addView(SEGMENT_KIND_CATEGORY, cat, p);
      m.addView(SEGMENT_KIND_TYPE, types[v % 3] as ReturnType<typeof keyOf>, p);
      p += 100;
    }
  }
  return m;
});
