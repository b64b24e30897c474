import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventStore } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';
import { json, serve } from './http-helpers.js';

const CLI = path.join(import.meta.dirname, '..', 'lib', 'cli', 'main.ts');
const OPTIONS = { indexMemtableEntries: 200, maxIndexSegments: 4 };

async function seed(s: EventStore): Promise<void> {
  for (let i = 0; i < 900; i++) await s.append(`s-${i % 2}`, [{ type: 'T', data: { i, pad: 'q'.repeat(2000) } }]);
  await s.deleteStream('s-1');
}

describe('annals scavenge', () => {
  it('scavenges a store directory with a progress bar, prints the report, and refuses a path that is no store', async () => {
    const dir = tempDir();
    const s = await EventStore.open(dir, { chunkSize: 1 << 20, ...OPTIONS });
    await seed(s);
    await s.close();
    const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'scavenge', dir, '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.chunksRewritten).toBeGreaterThan(0);
    expect(report.bytesReclaimed).toBeGreaterThan(500_000);
    const again = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'scavenge', dir], { encoding: 'utf8' });
    expect(again.stdout).toMatch(/0 rewritten, 0 events removed, 0\.0 MB reclaimed/);
    const none = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'scavenge', path.join(dir, 'nope')], { encoding: 'utf8' });
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/^annals: [A-Z_]+: /);
  });
});

describe.each(ENGINES)('POST /api/scavenge (%s engine)', (engine) => {
  it('scavenges and answers the report; with a token it needs the token', async () => {
    const store = await openStore(tempDir(), engine, OPTIONS);
    await seed(store);
    const base = await serve(store, { token: 't0ken' });
    expect((await fetch(`${base}/api/scavenge`, { method: 'POST' })).status).toBe(401);
    const res = await fetch(`${base}/api/scavenge`, { method: 'POST', headers: { authorization: 'Bearer t0ken' } });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ chunksRewritten: expect.any(Number), aborted: false });
    expect((await store.readStream('s-0')).length).toBe(450);
    const stats = await json(await fetch(`${base}/api/stats`, { headers: { authorization: 'Bearer t0ken' } }));
    expect(stats.reclaimableBytes).toBe(0);
  });
});
