import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../lib/options.js';

// docs/api.md is meant to be the whole surface a user needs: every option the store accepts is
// documented there, and its options table names no option the store does not have.
describe('docs/api.md', () => {
  const doc = fs.readFileSync(path.join(import.meta.dirname, '..', 'docs', 'api.md'), 'utf8');
  const resolved = resolveOptions({});
  const internal = new Set(['chunkSizeGiven', 'limits']);
  const options = [...Object.keys(resolved).filter((k) => !internal.has(k)), ...Object.keys(resolved.limits).map((k) => `limits.${k}`)];

  const start = doc.indexOf('| option | default | meaning |');
  const table = start < 0 ? '' : doc.slice(start, doc.indexOf('\n\n', start));
  const rows = [...table.matchAll(/^\| `([A-Za-z.]+)` \|/gm)].map((m) => m[1] as string);

  it('has a row in its options table for every store option', () => {
    for (const name of options) expect(rows, name).toContain(name);
  });

  it('lists no option in that table that the store does not accept', () => {
    expect(rows.length).toBe(options.length);
    for (const name of rows) expect(options, name).toContain(name);
  });
});
