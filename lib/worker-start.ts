/**
 * Starts a module of this package as a worker thread, from the built package or from the sources:
 * `<name>.js` beside the calling module in dist/; from the sources (tests and benchmarks run
 * through tsx or vitest) `<name>.ts` and its imports bundled into one ES module by esbuild and
 * started from memory. Undefined where neither can start (the module is not beside its caller, as
 * in a bundle, or esbuild is missing): the caller then does the work on its own thread.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';

function workerFile(base: string, name: string): URL | undefined {
  for (const ext of ['.js', '.ts']) {
    const file = new URL(`./${name}${ext}`, base);
    if (fs.existsSync(fileURLToPath(file))) return file;
  }
  return undefined;
}

/** Each source module bundled once per process: a worker that loaded the sources through tsx's
 * loader would spend longer starting than a small job takes. Bounded by the worker modules. */
const bundles = new Map<string, Promise<string | undefined>>();

function bundleSources(entry: string): Promise<string | undefined> {
  let bundled = bundles.get(entry);
  if (bundled) return bundled;
  bundled = (async () => {
    try {
      const esbuild = createRequire(import.meta.url)('esbuild') as {
        build(o: object): Promise<{ outputFiles: { text: string }[] }>;
      };
      const out = await esbuild.build({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        format: 'esm',
        write: false,
        logLevel: 'silent',
      });
      return out.outputFiles[0]?.text;
    } catch {
      return undefined;
    }
  })();
  bundles.set(entry, bundled);
  return bundled;
}

/** Starts the worker module `name` found beside `base` (the caller's import.meta.url). */
export async function startWorker(
  base: string,
  name: string,
  workerData?: unknown,
  resourceLimits?: ResourceLimits,
): Promise<Worker | undefined> {
  const file = workerFile(base, name);
  if (!file) return undefined;
  if (file.pathname.endsWith('.js')) return new Worker(file, { workerData, resourceLimits });
  const code = await bundleSources(fileURLToPath(file));
  if (code === undefined) return undefined;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData, resourceLimits });
}
