// vitest globalSetup: a PostgreSQL server for the PostgreSQL store's tests. ANNALS_PG_URL names one
// to use; otherwise a throw-away server is started from the machine's PostgreSQL binaries
// (scripts/pg-server.mjs) and stopped after the run. When none can be had, the tests that need it
// are skipped and say why; in CI (CI=true) that is a failure instead: CI must run them.
import type { TestProject } from 'vitest/node';
// @ts-expect-error a plain ES module script without types
import { startPgServer } from '../scripts/pg-server.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
    pgSkip: string;
    pgDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const given = process.env.ANNALS_PG_URL;
  if (given) {
    project.provide('pgUrl', given);
    project.provide('pgSkip', '');
    project.provide('pgDir', '');
    return () => {};
  }
  try {
    const server = (await startPgServer({ fsync: false })) as { url: string; dir: string; stop: () => void };
    project.provide('pgUrl', server.url);
    project.provide('pgSkip', '');
    project.provide('pgDir', server.dir);
    return () => server.stop();
  } catch (err) {
    const why = `no PostgreSQL server: ${(err as Error).message}`;
    if (process.env.CI) throw new Error(`${why} (CI must run the PostgreSQL tests)`);
    console.warn(`PostgreSQL tests skipped: ${why}`);
    project.provide('pgUrl', '');
    project.provide('pgSkip', why);
    project.provide('pgDir', '');
    return () => {};
  }
}
