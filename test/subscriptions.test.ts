// The subscription contract is in lib/conformance (test/conformance.test.ts); what stays here is
// engine-specific: positions are byte offsets, checked when subscribe() is called.
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../lib/index.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

async function appendN(s: EventStore, stream: string, n: number, tag: string): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => s.append(stream, [{ type: 'T', data: `${tag}-${i}` }])));
}

describe.each(ENGINES)('subscriptions (%s engine)', (engine) => {
  it('rejects a position that is not an event', async () => {
    const s = await openStore(tempDir(), engine);
    await appendN(s, 'a', 2, 'a');
    expect(() => s.subscribe({ after: 65 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => s.subscribe({ after: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => s.subscribe({ streamId: '' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
