// What only the PostgreSQL store can show: several processes (here, several stores, each with its
// own connections) sharing durable consumers and racing deletes against appends.
import { describe, expect, it } from 'vitest';
import { lockKey } from '../lib/postgres/append-batcher.js';
import type { PostgresEventStore, RecordedEvent } from '../lib/postgres/index.js';
import { collect } from './helpers.js';
import { adminQuery, connectPg, newSchema, PG_SKIP } from './pg-helpers.js';

async function fill(s: PostgresEventStore, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) await s.append(`order-${i % 3}`, [{ type: 'T', data: { i } }]);
}

const numbers = (events: RecordedEvent[]) => events.map((e) => (e.data as { i: number }).i);

describe.skipIf(PG_SKIP !== undefined)(
  `PostgreSQL consumers and deletes across processes${PG_SKIP ? ` (skipped: ${PG_SKIP})` : ''}`,
  () => {
    it('one live subscription per consumer across processes; the next one resumes after the checkpoint of the last', async () => {
      const schema = newSchema();
      const a = await connectPg(schema);
      const b = await connectPg(schema);
      await fill(a, 0, 10);
      const subA = a.subscribe({ consumer: 'proj' });
      const it = subA[Symbol.asyncIterator]();
      expect(numbers([(await it.next()).value, (await it.next()).value])).toEqual([0, 1]);
      const refused = await collect(b.subscribe({ consumer: 'proj' })).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'CONSUMER_BUSY' });
      await expect(b.resetConsumer('proj', 0)).rejects.toMatchObject({ code: 'CONSUMER_BUSY' });
      await it.return?.();
      // The end saves the checkpoint, then releases the lock: b may wait a moment for it.
      let got: number[] = [];
      for (let tries = 0; tries < 50 && got.length === 0; tries++) {
        try {
          for await (const e of b.subscribe({ consumer: 'proj' })) {
            got = numbers([e]);
            break;
          }
        } catch (err) {
          expect(err).toMatchObject({ code: 'CONSUMER_BUSY' });
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      expect(got).toEqual([2]);
      expect((await a.listConsumers()).map((c) => [c.name, c.live])).toEqual([['proj', false]]);
    });

    it('a process that dies frees its consumers at once: its lock goes with its connection', async () => {
      const schema = newSchema();
      const a = await connectPg(schema);
      const b = await connectPg(schema);
      await fill(a, 0, 5);
      const subA = a.subscribe({ consumer: 'c' });
      const it = subA[Symbol.asyncIterator]();
      await it.next();
      await subA.checkpoint();
      const key = lockKey(schema, '\0k\0', 'c');
      const hi = Number(BigInt.asUintN(32, key >> 32n));
      const lo = Number(BigInt.asUintN(32, key));
      const holder = await adminQuery(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1`,
        [hi, lo],
      );
      expect(holder.rowCount).toBe(1);
      await adminQuery('SELECT pg_terminate_backend($1)', [holder.rows[0].pid]);
      await new Promise((r) => setTimeout(r, 200)); // the client sees its connection end
      // The dead holder's subscription ends with UNAVAILABLE; another process takes over after the
      // checkpoint it saved.
      await expect(it.next()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      const next: number[] = [];
      for await (const e of b.subscribe({ consumer: 'c' })) {
        next.push(...numbers([e]));
        break;
      }
      expect(next).toEqual([1]);
    });

    it('appends and deletes from two processes race as appends do: a hard delete and an append expecting one version, exactly one wins', async () => {
      const schema = newSchema();
      const a = await connectPg(schema);
      const b = await connectPg(schema);
      for (let round = 0; round < 20; round++) {
        const id = `race-${round}`;
        await a.append(id, [{ type: 'T' }, { type: 'T' }]);
        const [appended, deleted] = await Promise.allSettled([
          a.append(id, [{ type: 'late' }], { expectedVersion: 2 }),
          b.deleteStream(id, { expectedVersion: 2, hard: round % 2 === 0 }),
        ]);
        const visible = (await a.readStream(id)).map((e) => e.version);
        if (round % 2 === 0) {
          expect([appended.status, deleted.status].sort()).toEqual(['fulfilled', 'rejected']);
          expect(visible).toEqual(appended.status === 'fulfilled' ? [1, 2, 3] : []);
        } else if (deleted.status === 'fulfilled') {
          // A soft delete first: the stream reads as empty and takes its last version as expected.
          expect(appended.status).toBe('fulfilled');
          expect(visible).toEqual([3]);
        } else {
          expect(deleted.reason).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', actualVersion: 3 });
          expect(visible).toEqual([1, 2, 3]);
        }
      }
    });
  },
);
