/**
 * A scavenge pass that fails on the file system rejects with the same typed error in both engines:
 * the JS engine's pass runs in a worker thread, and its fs error crosses to the store's thread as
 * the AnnalsError toAnnalsError makes of it (the native pass's error already is one), not as a
 * plain Error carrying an fs code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnnalsError } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

// Writing there fails with ESPIPE (a file that cannot be written at an offset).
const UNSEEKABLE = '/proc/version';

describe.skipIf(!fs.existsSync(UNSEEKABLE)).each(ENGINES)('a scavenge pass failing on the file system (%s engine)', (engine) => {
  it('rejects with an AnnalsError of code IO', async () => {
    const dir = tempDir();
    const s = await openStore(dir, engine, { chunkSize: 1024 * 1024 });
    for (let i = 0; i < 40; i++) await s.setStreamMetadata(`aged-${i}`, { maxCount: 1 });
    for (let r = 0; r < 20; r++) for (let i = 0; i < 40; i++) await s.append(`aged-${i}`, [{ type: 'T', data: { pad: 'x'.repeat(4000) } }]);
    const chunks = fs.readdirSync(path.join(dir, 'chunks')).filter((f) => f.endsWith('.chunk'));
    expect(chunks.length).toBeGreaterThan(1);
    // Each chunk's temp file of the pass, a link to a file a write at an offset fails on.
    for (const c of chunks) fs.symlinkSync(UNSEEKABLE, path.join(dir, 'chunks', `${c}.scavenge.tmp`));
    const err = await s.scavenge().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnnalsError);
    expect(err).toMatchObject({ code: 'IO' });
    await s.close();
  });
});
