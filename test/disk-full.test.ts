import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskFullError } from '../lib/index.js';
import { collect, ENGINES, MiB, openStore, tempDir } from './helpers.js';

/** Mounts a 4 MiB tmpfs (needs root); undefined when this machine cannot. */
function smallFilesystem(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = tempDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return undefined;
  }
}

const mountable = smallFilesystem();
if (mountable) execFileSync('umount', [mountable]);

describe.each(ENGINES)('disk full (%s engine)', (engine) => {
  it.skipIf(!mountable)('rejects appends with DISK_FULL, keeps serving reads, continues once space is freed', async () => {
    const dir = smallFilesystem() as string;
    try {
      const filler = path.join(dir, 'filler');
      fs.writeFileSync(filler, Buffer.alloc(MiB));
      const s = await openStore(path.join(dir, 'store'), engine);
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
      fs.rmSync(filler);
      await s.append('big', [{ type: 'blob', data: new Uint8Array(10) }], { expectedVersion: acked.length });
      await s.close();
      const t = await openStore(path.join(dir, 'store'), engine);
      const all = await collect(t.readAll());
      expect(all.length).toBe(acked.length + 1);
      expect(all.map((e) => e.version)).toEqual(all.map((_, i) => i + 1));
      await t.close();
    } finally {
      execFileSync('umount', ['-l', dir]);
    }
  });
});

if (!mountable) console.warn('disk-full tests skipped: mounting a tmpfs needs root');
