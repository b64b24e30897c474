import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const LIB = path.resolve(import.meta.dirname, '..', 'lib');
/** Packages only the command line and the HTTP server need. */
const SERVER_OR_CLI_PACKAGES = /^(fastify|@fastify\/|commander|cli-progress)/;

/** The modules a file loads at run time: its value imports and re-exports (`import type` and
 * `export type` are erased by the compiler) and dynamic imports. */
function runtimeImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
    if (!m[1]) out.push(m[2] as string);
  }
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1] as string);
  return out;
}

/** Every module `import 'annals'` loads: lib files by path, packages by name. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith('.')) pending.push(path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
      else if (!spec.startsWith('node:')) packages.add(spec);
    }
  }
  return { files, packages };
}

describe("the library's import", () => {
  it('loads no server or command-line code, and none of their packages', () => {
    const { files, packages } = closure(path.join(LIB, 'index.ts'));
    expect(files.size).toBeGreaterThan(20);
    const outside = [...files].map((f) => path.relative(LIB, f)).filter((f) => /^(server|cli)[/\\]/.test(f));
    expect(outside).toEqual([]);
    expect([...packages].filter((p) => SERVER_OR_CLI_PACKAGES.test(p))).toEqual([]);
    // The walk sees what it should: the server itself does load fastify.
    expect([...closure(path.join(LIB, 'server', 'http-api.ts')).packages]).toContain('fastify');
  });

  it('at run time, too: importing lib/index.ts puts no fastify, commander or cli-progress module in the process', () => {
    const probe = `
      import { createRequire } from 'node:module';
      await import(${JSON.stringify(path.join(LIB, 'index.ts'))});
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify(loaded.filter((f) => /node_modules[\\\\/](fastify|@fastify|commander|cli-progress)[\\\\/]/.test(f))));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop() as string)).toEqual([]);
  });
});
