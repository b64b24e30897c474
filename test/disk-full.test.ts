import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskFullError, type EngineName } from '../lib/index.js';
import { verifyStore } from '../lib/verify.js';
import { collect, ENGINES, MiB, openStore, tempDir } from './helpers.js';

/** Mounts a tmpfs of `size` (needs root); undefined when this machine cannot. */
function smallFilesystem(size = '4m'): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = tempDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return undefined;
  }
}

const mountable = smallFilesystem();
if (mountable) execFileSync('umount', [mountable]);

async function onSmallFilesystem(size: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = smallFilesystem(size) as string;
  try {
    await body(dir);
  } finally {
    execFileSync('umount', ['-l', dir]);
  }
}

/** Fills the file system with 4 KiB files, then frees `leave` of them. */
function fill(dir: string, leave: number): void {
  let n = 0;
  try {
    for (;;) fs.writeFileSync(path.join(dir, `fill-${n++}`), Buffer.alloc(4096, 1));
  } catch {}
  for (let i = 0; i < leave; i++) fs.rmSync(path.join(dir, `fill-${i}`), { force: true });
}

function unfill(dir: string): void {
  for (const name of fs.readdirSync(dir)) if (name.startsWith('fill-')) fs.rmSync(path.join(dir, name));
}

const OPEN_REPORT = path.join(import.meta.dirname, 'fixtures', 'open-report.ts');

/** Opens the store in a child process, so that a fault kills that process, not the test runner. */
function openInChild(
  dir: string,
  engine: EngineName,
): { status: number | null; signal: string | null; report?: { ok: boolean; code?: string; eventCount?: number } } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', OPEN_REPORT, dir, engine], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop();
  return { status: r.status, signal: r.signal, report: line ? JSON.parse(line) : undefined };
}

describe.each(ENGINES)('disk full (%s engine)', (engine) => {
  it.skipIf(!mountable)('rejects appends with DISK_FULL, keeps serving reads, continues once space is freed', async () => {
    await onSmallFilesystem('6m', async (dir) => {
      const filler = path.join(dir, 'filler');
      fs.writeFileSync(filler, Buffer.alloc(3 * MiB));
      const s = await openStore(path.join(dir, 'store'), engine);
      const follower = await openStore(path.join(dir, 'store'), engine, { readOnly: true, followIntervalMs: 5 });
      const acked: number[] = [];
      let failure: unknown;
      for (let i = 0; i < 100 && !failure; i++) {
        await s.append('big', [{ type: 'blob', data: new Uint8Array(150_000).fill(i) }]).then(
          () => acked.push(i),
          (e: unknown) => {
            failure = e;
          },
        );
      }
      expect(failure).toBeInstanceOf(DiskFullError);
      expect(failure).toMatchObject({ code: 'DISK_FULL' });
      expect(acked.length).toBeGreaterThan(3);
      expect((await s.readStream('big')).length).toBe(acked.length);
      expect(await s.streamVersion('big')).toBe(acked.length);
      // A follower shows what was acknowledged, never the rejected append.
      await new Promise((r) => setTimeout(r, 100));
      expect((await follower.readStream('big')).map((e) => e.version)).toEqual(acked.map((_, i) => i + 1));
      fs.rmSync(filler);
      await s.append('big', [{ type: 'blob', data: new Uint8Array(10) }], { expectedVersion: acked.length });
      // Up to the next chunk, so the chunk the failure happened in is sealed with its footer.
      const chunks = (await s.stats()).chunkCount;
      let more = 0;
      while ((await s.stats()).chunkCount === chunks) {
        await s.append('more', [{ type: 'blob', data: new Uint8Array(100_000) }]);
        more++;
      }
      await s.close();
      await new Promise((r) => setTimeout(r, 100));
      expect((await collect(follower.readAll())).length).toBe(acked.length + 1 + more);
      await follower.close();
      // The native engine's running checksum and record count moved before the write that failed,
      // and went into the checkpoint and footer: verify then called a healthy chunk corrupt.
      expect(verifyStore(path.join(dir, 'store')).faults).toEqual([]);
      const t = await openStore(path.join(dir, 'store'), engine);
      const all = await collect(t.readAll());
      expect(all.length).toBe(acked.length + 1 + more);
      expect((await t.readStream('big')).map((e) => e.version)).toEqual([...Array(acked.length + 1).keys()].map((i) => i + 1));
      await t.close();
    });
  });

  // A group commit writes many appends in one call; when that write fails part-way, the whole
  // frames before the point of failure were in the file, close() synced them and the next open
  // took them for data: rejected appends came back.
  it.skipIf(!mountable)('a group commit whose write fails part-way leaves none of its appends, before or after a reopen', async () => {
    for (const leave of [40, 70, 110]) {
      await onSmallFilesystem('8m', async (dir) => {
        const storeDir = path.join(dir, 'store');
        const s = await openStore(storeDir, engine, { chunkSize: 4 * MiB });
        await s.append('seed', [{ type: 'x', data: { n: 0 } }]);
        fill(dir, leave);
        const outcomes = await Promise.allSettled(
          Array.from({ length: 64 }, (_, i) =>
            s.append(`s-${i % 8}`, [{ type: 'blob', data: new Uint8Array(40_000).fill(i) }], { commandId: `cmd-${leave}-${i}` }),
          ),
        );
        const acked = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
        const rejected = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
        expect(rejected.length).toBeGreaterThan(0);
        for (const i of rejected) expect((outcomes[i] as PromiseRejectedResult).reason).toMatchObject({ code: 'DISK_FULL' });
        const check = async (store: typeof s) => {
          for (const i of rejected) expect(await store.readCommand(`cmd-${leave}-${i}`)).toBeUndefined();
          for (const i of acked) expect(await store.readCommand(`cmd-${leave}-${i}`)).toHaveLength(1);
          expect((await collect(store.readAll())).length).toBe(1 + acked.length);
        };
        await check(s);
        await s.close();
        // The native engine's running checksum and record count used to move before the write
        // that failed, and went into the checkpoint (and, at the next seal, the footer).
        expect(verifyStore(storeDir).faults).toEqual([]);
        unfill(dir);
        const t = await openStore(storeDir, engine, { chunkSize: 4 * MiB });
        await check(t);
        await t.append('after', [{ type: 'x', data: { n: 1 } }]);
        await t.close();
        expect(verifyStore(storeDir).faults).toEqual([]);
      });
    }
  });

  // A store whose tail chunk ends in a hole (the zero-ahead could not be written), reopened while
  // the tmpfs is full: the recovery scan read the hole through a shared mapping, and a read fault
  // on a hole of a full tmpfs is SIGBUS.
  it.skipIf(!mountable)('opens a store on a full file system without a fault', async () => {
    await onSmallFilesystem('4m', async (dir) => {
      const storeDir = path.join(dir, 'store');
      const s = await openStore(storeDir, engine);
      await s.append('a', [{ type: 't', data: { pad: 'x'.repeat(100) } }]);
      fill(dir, 10);
      let acked = 1;
      for (;;) {
        const ok = await s.append('a', [{ type: 't', data: { pad: 'x'.repeat(3000) } }]).then(
          () => true,
          () => false,
        );
        if (!ok) break;
        acked++;
      }
      await s.close().catch(() => {});
      // Opening may need a few bytes (the lock's ticket): a clean DISK_FULL is as good as an open.
      const opened = openInChild(storeDir, engine);
      expect(opened.signal).toBeNull();
      expect([JSON.stringify({ ok: true, eventCount: acked }), 'DISK_FULL']).toContain(
        opened.report?.ok ? JSON.stringify(opened.report) : opened.report?.code,
      );
      fs.rmSync(path.join(dir, 'fill-10'));
      expect(openInChild(storeDir, engine).report).toEqual({ ok: true, eventCount: acked });
    });
  });
});

if (!mountable) console.warn('disk-full tests skipped: mounting a tmpfs needs root');
