/**
 * Commands that create a store (`serve`, `import`) must leave no directory behind when they fail:
 * a mistyped path or a bad input would otherwise litter the disk with empty stores. What they
 * created is known by what was missing before they ran.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The outermost directory on `dir`'s path that does not exist yet (undefined: `dir` exists). */
export function firstMissing(dir: string): string | undefined {
  let missing: string | undefined;
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing = d;
    if (path.dirname(d) === d) break;
  }
  return missing;
}

/** Removes `created` (what firstMissing returned before the command made it), if anything. */
export function removeCreated(created: string | undefined): void {
  if (created !== undefined) fs.rmSync(created, { recursive: true, force: true });
}
