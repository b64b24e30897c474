// What only the embedded store shows of stream deletes and retention; the contract itself runs
// over every store in lib/conformance/lifecycle.ts.
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

async function fill(s: EventStore, streamId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await s.append(streamId, [{ type: i % 2 ? 'Odd' : 'Even', data: { i } }]);
}

const versions = async (s: EventStore, id: string) => (await s.readStream(id)).map((e) => e.version);

describe.each(ENGINES)('stream deletes and retention (%s engine)', (engine) => {
  it('a read-only store refuses deletes and metadata changes, and reads them', async () => {
    const dir = tempDir();
    const w = await openStore(dir, engine);
    await fill(w, 'a', 3);
    await w.setStreamMetadata('a', { maxCount: 1 });
    await w.close();
    const r = await openStore(dir, engine, { readOnly: true });
    await expect(r.deleteStream('a')).rejects.toMatchObject({ code: 'READ_ONLY' });
    await expect(r.setStreamMetadata('a', {})).rejects.toMatchObject({ code: 'READ_ONLY' });
    expect(await versions(r, 'a')).toEqual([3]);
    await r.close();
  });
});
