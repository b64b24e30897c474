import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventStore } from '../lib/event-store.js';
import { resolveOptions } from '../lib/options.js';

// docs/api.md is meant to be the whole surface a user needs: every option the store accepts is
// documented there, and its options table names no option the store does not have.
describe('docs/api.md', () => {
  const doc = fs.readFileSync(path.join(import.meta.dirname, '..', 'docs', 'api.md'), 'utf8');
  const resolved = resolveOptions({});
  const internal = new Set(['chunkSizeGiven', 'limits', 'readCache', 'tieredMerges']);
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

  it('documents every public method of EventStore', () => {
    const methods = Object.getOwnPropertyNames(EventStore.prototype).filter(
      (m) => m !== 'constructor' && !m.startsWith('check') && m !== 'commit' && m !== 'engineName',
    );
    expect(methods.length).toBeGreaterThan(20);
    for (const m of methods) expect(doc, m).toContain(`${m}(`);
  });

  it('lists every error code in its errors table', () => {
    const errors = fs.readFileSync(path.join(import.meta.dirname, '..', 'lib', 'errors.ts'), 'utf8');
    const union = errors.slice(errors.indexOf('export type ErrorCode'), errors.indexOf(';', errors.indexOf('export type ErrorCode')));
    const codes = [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1] as string);
    expect(codes.length).toBeGreaterThan(10);
    const table = doc.slice(doc.indexOf('| class | code | when |'));
    for (const code of codes) expect(table, code).toContain(`\`${code}\``);
  });
});
