/** Appends a few events and reads them back: `npm run example` (or `node --import tsx examples/quickstart.ts`). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventStore } from '../lib/index.js';

const dir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'annals-example-'));
const store = await EventStore.open(dir);
console.log(`opened ${dir} with the ${store.engineName} engine`);

const version = await store.streamVersion('order-42');
const result = await store.append(
  'order-42',
  [
    { type: 'OrderPlaced', data: { items: 3, total: 59.9 } },
    { type: 'OrderPaid', data: { method: 'card' }, metadata: { user: 'ada' } },
  ],
  { expectedVersion: version, commandId: `place-order-42-${version}` },
);
console.log('appended', result);

for (const e of await store.readStream('order-42')) console.log(e.version, e.type, JSON.stringify(e.data));
console.log('command events:', (await store.readCommand(`place-order-42-${version}`))?.length);
let n = 0;
for await (const _ of store.readAll()) n++;
console.log(`global log: ${n} events`);
await store.close();
