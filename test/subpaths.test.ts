// `annals` must not load `pg` (nor vitest): the PostgreSQL store and the conformance suite are
// subpath exports (`annals/postgres`, `annals/conformance`), reached only through their own entry.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const LIB = path.join(import.meta.dirname, '..', 'lib');

/** Every module `entry` imports statically, transitively (files under lib/, and packages by name). */
function imports(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = fs.readFileSync(file, 'utf8');
    // Static imports and re-exports; `import type` is erased and dynamic import() is lazy.
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)';/gms)) {
      const spec = m[1] as string;
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));
    }
  };
  visit(entry);
  return { files, packages };
}

describe('subpath exports', () => {
  it('the main entry loads neither pg nor vitest nor the PostgreSQL and conformance modules', () => {
    const { files, packages } = imports(path.join(LIB, 'index.ts'));
    expect(packages.has('pg')).toBe(false);
    expect(packages.has('vitest')).toBe(false);
    expect(packages.has('@event-driven-io/emmett')).toBe(false);
    for (const f of files) expect(path.relative(LIB, f)).not.toMatch(/^(postgres|conformance|emmett)\//);
  });

  it('package.json exports ./postgres and ./conformance, with pg and vitest as optional peers', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(LIB, '..', 'package.json'), 'utf8'));
    expect(pkg.exports['./postgres'].import).toBe('./dist/postgres/index.js');
    expect(pkg.exports['./conformance'].import).toBe('./dist/conformance/index.js');
    expect(pkg.peerDependenciesMeta.pg.optional).toBe(true);
    expect(pkg.peerDependenciesMeta.vitest.optional).toBe(true);
    expect(pkg.dependencies.pg).toBeUndefined();
    expect(imports(path.join(LIB, 'postgres', 'index.ts')).packages.has('pg')).toBe(true);
  });

  it('package.json exports ./emmett (ESM and CJS, with types), with Emmett as an optional peer', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(LIB, '..', 'package.json'), 'utf8'));
    const ex = pkg.exports['./emmett'];
    expect(ex.import).toEqual({ types: './dist/emmett/index.d.ts', default: './dist/emmett/index.js' });
    expect(ex.require).toEqual({ types: './cjs/emmett.d.cts', default: './cjs/emmett.cjs' });
    for (const f of ['cjs/emmett.cjs', 'cjs/emmett.d.cts']) expect(fs.existsSync(path.join(LIB, '..', f))).toBe(true);
    expect(pkg.peerDependenciesMeta['@event-driven-io/emmett'].optional).toBe(true);
    expect(pkg.dependencies['@event-driven-io/emmett']).toBeUndefined();
    expect(imports(path.join(LIB, 'emmett', 'index.ts')).packages.has('@event-driven-io/emmett')).toBe(true);
  });
});
