// A process of the multi-process PostgreSQL tests (test/pg-concurrency.test.ts):
//   node --import tsx test/pg-workers/worker.ts writer <url> <schema> <id> <rounds>
//   node --import tsx test/pg-workers/worker.ts subscriber|poller <url> <schema>
// Prints one JSON line with what it did or saw.
import { DuplicateCommandError, WrongExpectedVersionError } from '../../lib/errors.js';
import { PostgresEventStore } from '../../lib/postgres/index.js';

const [role, url, schema, idText, roundsText] = process.argv.slice(2) as [string, string, string, string, string];
const store = await PostgresEventStore.connect(url, { schema, pollIntervalMs: 50 });

async function writer(id: number, rounds: number) {
  const acked: { kind: string; positions: number[] }[] = [];
  let raceWins = 0;
  let raceLosses = 0;
  let commandWins = 0;
  let commandDuplicates = 0;
  for (let r = 0; r < rounds; r++) {
    const work: Promise<void>[] = [];
    // Plain appends to streams every writer shares.
    for (let k = 0; k < 4; k++) {
      work.push(
        store
          .append(`shared-${(id + r + k) % 6}`, [{ type: 'W', data: { id, r, k } }])
          .then((a) => void acked.push({ kind: 'one', positions: [a.position] })),
      );
    }
    // A large multi-stream transaction now and then: it holds its positions longer.
    if (r % 5 === id % 5) {
      work.push(
        store
          .appendMany(
            Array.from({ length: 40 }, (_, k) => ({
              streamId: `bulk-${id}-${k % 4}`,
              events: [{ type: 'B', data: { id, r, k } }, { type: 'B' }],
            })),
          )
          .then((rs) => void acked.push({ kind: 'bulk', positions: rs.map((x) => (x as { position: number }).position) })),
      );
    }
    // Every writer races for the same version of the same stream: exactly one may win.
    work.push(
      store.append(`race-${r % 3}`, [{ type: 'R', data: { id, r } }], { expectedVersion: Math.floor(r / 3) }).then(
        () => void raceWins++,
        (err) => {
          if (!(err instanceof WrongExpectedVersionError)) throw err;
          raceLosses++;
        },
      ),
    );
    // Every writer tries to store the same command: it is stored once.
    work.push(
      store.append(`cmd-${id}`, [{ type: 'C', data: { id, r } }], { commandId: `shared-command-${r}` }).then(
        () => void commandWins++,
        (err) => {
          if (!(err instanceof DuplicateCommandError)) throw err;
          commandDuplicates++;
        },
      ),
    );
    await Promise.all(work);
  }
  return { acked: acked.flatMap((a) => a.positions).length, raceWins, raceLosses, commandWins, commandDuplicates };
}

/** Follows the log until the END event: by subscription, or by paging readAll from its last position. */
async function consumer(bySubscription: boolean) {
  const positions: number[] = [];
  if (bySubscription) {
    for await (const e of store.subscribe()) {
      if (e.type === 'END') break;
      positions.push(e.position);
    }
  } else {
    let after = 0;
    for (let ended = false; !ended; ) {
      let n = 0;
      for await (const e of store.readAll(after === 0 ? { limit: 300 } : { after, limit: 300 })) {
        n++;
        after = e.position;
        if (e.type === 'END') {
          ended = true;
          break;
        }
        positions.push(e.position);
      }
      if (n === 0) await new Promise((r) => setTimeout(r, 5));
    }
  }
  return { positions };
}

const result = role === 'writer' ? await writer(Number(idText), Number(roundsText)) : await consumer(role === 'subscriber');
await store.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
