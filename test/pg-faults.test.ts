// Faults of the PostgreSQL store's server: connections killed mid-append, the server stopped as a
// crash would stop it and started again, and the server gone for longer than the store waits.
// An append either is acknowledged (and then stored, once, whole) or rejects with a typed error;
// reads and subscriptions reconnect by themselves. Runs on a server of its own, which it stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../lib/errors.js';
import { PostgresEventStore } from '../lib/postgres/index.js';
import type { RecordedEvent } from '../lib/types.js';
// @ts-expect-error a plain ES module script without types
import { startPgServer } from '../scripts/pg-server.mjs';
import { collect } from './helpers.js';
import { PG_SKIP } from './pg-helpers.js';

interface Server {
  url: string;
  halt: (mode?: string) => void;
  restart: () => void;
  stop: () => void;
}

let server: Server | undefined;
beforeAll(async () => {
  if (!PG_SKIP) server = (await startPgServer({ fsync: false })) as Server;
}, 120_000);
afterAll(() => server?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Checks that every acknowledged append is stored once and whole, and nothing else is. */
async function checkOutcomes(store: PostgresEventStore, outcomes: PromiseSettledResult<unknown>[], eventsPerAppend: number) {
  const all = await collect(store.readAll());
  const byAppend = new Map<string, RecordedEvent[]>();
  for (const e of all) {
    const key = (e.data as { a: string }).a;
    byAppend.set(key, [...(byAppend.get(key) ?? []), e]);
  }
  let acked = 0;
  outcomes.forEach((o, i) => {
    const events = byAppend.get(`a-${i}`) ?? [];
    if (o.status === 'fulfilled') {
      acked++;
      expect(events.length, `acknowledged append ${i}`).toBe(eventsPerAppend);
    } else {
      expect(o.reason).toBeInstanceOf(UnavailableError);
      // 'not_written' means exactly that; 'unknown' may be either, but never half.
      if ((o.reason as UnavailableError).outcome === 'not_written') expect(events.length).toBe(0);
      else expect([0, eventsPerAppend]).toContain(events.length);
    }
  });
  for (const events of byAppend.values()) expect(events.length).toBe(eventsPerAppend);
  return { acked, stored: byAppend.size };
}

describe.skipIf(PG_SKIP !== undefined)(`PostgreSQL store faults${PG_SKIP ? ` (skipped: ${PG_SKIP})` : ''}`, () => {
  it('connections killed while appends run: acknowledged appends are stored whole, once; none half', { timeout: 120_000 }, async () => {
    const s = await PostgresEventStore.connect(server!.url, { schema: 'kills', reconnectTimeoutMs: 20_000 });
    const admin = await PostgresEventStore.connect(server!.url, { schema: 'kills_admin' });
    let killing = true;
    let kills = 0;
    const killer = (async () => {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: server!.url });
      await c.connect();
      while (killing) {
        const r = await c.query(
          "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = 'annals' AND pid <> pg_backend_pid()",
        );
        kills += Number(r.rows[0].n);
        await sleep(100);
      }
      await c.end();
    })();
    const outcomes: PromiseSettledResult<unknown>[] = [];
    for (let round = 0; round < 10; round++) {
      const batch = await Promise.allSettled(
        Array.from({ length: 20 }, (_, k) => {
          const i = round * 20 + k;
          return s.append(
            `k-${i % 7}`,
            [0, 1, 2].map((n) => ({ type: 'T', data: { a: `a-${i}`, n } })),
          );
        }),
      );
      outcomes.push(...batch);
    }
    killing = false;
    await killer;
    await admin.close();
    const { acked, stored } = await checkOutcomes(s, outcomes, 3);
    expect(kills).toBeGreaterThan(0);
    // Faults before COMMIT are retried: all but those whose commit was cut are acknowledged.
    expect(acked).toBeGreaterThan(outcomes.length * 0.9);
    console.log(
      `pg faults: ${kills} connections killed during ${outcomes.length} appends; ${acked} acknowledged, ${stored} stored, none half`,
    );
    await s.close();
  });

  it('the server crashes and comes back: appends wait and go through, reads and a subscription reconnect', {
    timeout: 120_000,
  }, async () => {
    const s = await PostgresEventStore.connect(server!.url, { schema: 'crash', reconnectTimeoutMs: 30_000, pollIntervalMs: 50 });
    for (let i = 0; i < 50; i++) await s.append(`c-${i % 3}`, [{ type: 'T', data: { a: `a-${i}` } }]);
    const seen: number[] = [];
    const sub = (async () => {
      for await (const e of s.subscribe()) {
        seen.push(e.position);
        if (seen.length === 150) break;
      }
    })();
    server!.halt('immediate');
    const during = Array.from({ length: 50 }, (_, k) => s.append(`c-${k % 3}`, [{ type: 'T', data: { a: `a-${50 + k}` } }]));
    const read = s.readStream('c-0');
    await sleep(1500);
    server!.restart();
    const outcomes = await Promise.allSettled(during);
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
    expect((await read).length).toBeGreaterThanOrEqual(17);
    for (let i = 100; i < 150; i++) await s.append(`c-${i % 3}`, [{ type: 'T', data: { a: `a-${i}` } }]);
    await sub;
    const order = (await collect(s.readAll())).map((e) => e.position);
    expect(order).toHaveLength(150);
    expect(seen).toEqual(order);
    await s.close();
  });

  it('the server gone for longer than reconnectTimeoutMs: UNAVAILABLE, nothing written, and the store works again after', {
    timeout: 120_000,
  }, async () => {
    const s = await PostgresEventStore.connect(server!.url, { schema: 'gone', reconnectTimeoutMs: 1000 });
    await s.append('g', [{ type: 'T', data: { a: 'a-0' } }]);
    server!.halt('immediate');
    await sleep(200); // the client sees its connection close
    try {
      const err = await s.append('g', [{ type: 'T', data: { a: 'a-1' } }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect(err).toMatchObject({ code: 'UNAVAILABLE', outcome: 'not_written' });
      await expect(s.readStream('g')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await expect(PostgresEventStore.connect(server!.url, { schema: 'gone', reconnectTimeoutMs: 200 })).rejects.toMatchObject({
        code: 'UNAVAILABLE',
      });
    } finally {
      server!.restart();
    }
    await s.append('g', [{ type: 'T', data: { a: 'a-2' } }], { expectedVersion: 1 });
    expect((await s.readStream('g')).map((e) => (e.data as { a: string }).a)).toEqual(['a-0', 'a-2']);
    await s.close();
  });
});
