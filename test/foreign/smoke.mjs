// The API checks run on another platform's Node.js with the packed package installed
// (scripts/foreign-tests.mjs: linux-arm64 under qemu, win32-x64 under Wine), and on this one for the
// store carried between them. Plain node:assert, no test runner: under emulation every N-API call
// is ~90x slower and Wine's Node cannot write to a pipe, so this stays small, writes its report
// to a file, and ends with the tally line "N passed, N failed".
//
//   node smoke.mjs api <work-dir> <report-file>
//       the API subset below, in a fresh store under <work-dir>, with the native engine loaded
//   node smoke.mjs carry <store-dir> <label> <report-file>
//       opens the store the previous platform wrote, checks every event of every earlier
//       platform (their labels are in the store's "platforms" stream), then appends its own
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EventStore, nativeLoadError, verifyStore } from 'annals';

const [mode, ...args] = process.argv.slice(2);
const lines = [];
let passed = 0;
let failed = 0;

async function check(name, body) {
  try {
    await body();
    passed++;
    lines.push(`ok   ${name}`);
  } catch (err) {
    failed++;
    lines.push(`FAIL ${name}: ${err?.stack ?? err}`);
  }
}

const OPTIONS = { engine: 'native', chunkSize: 1 << 20, indexMemtableEntries: 64 };
const CARRY_EVENTS = 300;

async function api(work) {
  const dir = path.join(work, 'api-store');
  fs.rmSync(dir, { recursive: true, force: true });
  let store;
  await check('the native engine loads', async () => {
    assert.equal(nativeLoadError(), undefined);
    store = await EventStore.open(dir, OPTIONS);
    assert.equal(store.engineName, 'native');
  });
  if (!store) return;
  await check('append and readStream', async () => {
    const r = await store.append('order-1', [
      { type: 'Placed', data: { total: 12.5, items: ['a', 'b'] } },
      { type: 'Paid', data: { ok: true }, metadata: { by: 'x' } },
    ]);
    assert.equal(r.lastVersion, 2);
    const events = await store.readStream('order-1');
    assert.deepEqual(
      events.map((e) => [e.version, e.type, e.data]),
      [
        [1, 'Placed', { total: 12.5, items: ['a', 'b'] }],
        [2, 'Paid', { ok: true }],
      ],
    );
  });
  await check('optimistic concurrency', async () => {
    await assert.rejects(store.append('order-1', [{ type: 'X', data: {} }], { expectedVersion: 1 }), { code: 'WRONG_EXPECTED_VERSION' });
    await store.append('order-1', [{ type: 'Shipped', data: {} }], { expectedVersion: 2 });
    assert.equal(await store.streamVersion('order-1'), 3);
  });
  await check('command de-duplication', async () => {
    await store.append('order-2', [{ type: 'Placed', data: {} }], { commandId: 'cmd-1' });
    await assert.rejects(store.append('order-2', [{ type: 'Placed', data: {} }], { commandId: 'cmd-1' }), { code: 'DUPLICATE_COMMAND' });
    assert.equal((await store.readCommand('cmd-1'))?.length, 1);
  });
  await check('many streams through the index segments', async () => {
    for (let i = 0; i < 40; i++) {
      await store.appendMany(Array.from({ length: 10 }, (_, j) => ({ streamId: `s-${j}`, events: [{ type: 'T', data: { i, j } }] })));
    }
    await store.flush();
    const s7 = await store.readStream('s-7');
    assert.equal(s7.length, 40);
    assert.deepEqual(s7[39].data, { i: 39, j: 7 });
    const stats = await store.stats();
    assert.ok(stats.index.streamSegments + stats.index.commandSegments > 0, 'segments were built');
  });
  await check('readAll in position order', async () => {
    let last = -1;
    let n = 0;
    for await (const e of store.readAll()) {
      assert.ok(e.position > last);
      last = e.position;
      n++;
    }
    assert.equal(n, 3 + 1 + 400);
  });
  await check('snapshots', async () => {
    await store.saveSnapshot('order-1', 3, { state: 'shipped' });
    await store.saveSnapshot('order-1', 3, { state: 'shipped', again: true });
    assert.deepEqual((await store.loadSnapshot('order-1'))?.state, { state: 'shipped', again: true });
  });
  await check('the directory lock excludes a second writer', async () => {
    await assert.rejects(EventStore.open(dir, OPTIONS), { code: 'STORE_LOCKED' });
  });
  await check('close, reopen, and the data is there', async () => {
    await store.close();
    store = await EventStore.open(dir, OPTIONS);
    assert.equal(await store.streamVersion('order-1'), 3);
    assert.equal((await store.readStream('s-3')).length, 40);
    await store.close();
  });
  await check('a torn tail is cut at reopen (the tail chunk is mapped while it is cut)', async () => {
    const before = await EventStore.open(dir, OPTIONS);
    const end = (await before.stats()).endPosition;
    await before.close();
    const chunk = path.join(dir, 'chunks', `${String(Math.floor(end / OPTIONS.chunkSize)).padStart(8, '0')}.chunk`);
    const fd = fs.openSync(chunk, 'r+');
    fs.writeSync(fd, Buffer.alloc(24, 0xab), 0, 24, end % OPTIONS.chunkSize);
    fs.closeSync(fd);
    const torn = await EventStore.open(dir, OPTIONS);
    const stats = await torn.stats();
    assert.equal(stats.recovery.torn, true);
    assert.equal(stats.endPosition, end);
    await torn.append('after-tear', [{ type: 'T', data: {} }]);
    await torn.close();
    const again = await EventStore.open(dir, OPTIONS);
    assert.equal((await again.stats()).recovery.torn, false);
    assert.equal((await again.readStream('after-tear')).length, 1);
    await again.close();
  });
  await check('the JS engine opens the same store, reads and appends; native reads that back', async () => {
    const js = await EventStore.open(dir, { ...OPTIONS, engine: 'js' });
    assert.equal(js.engineName, 'js');
    assert.equal((await js.readStream('s-3')).length, 40);
    await js.append('from-js', [{ type: 'T', data: { js: true } }]);
    await js.saveSnapshot('from-js', 1, { js: true });
    await js.close();
    const back = await EventStore.open(dir, OPTIONS);
    assert.deepEqual((await back.readStream('from-js'))[0].data, { js: true });
    assert.deepEqual((await back.loadSnapshot('from-js'))?.state, { js: true });
    await back.close();
  });
  await check('verifyStore finds no fault', async () => {
    const report = await verifyStore(dir);
    assert.deepEqual(report.faults, []);
    assert.equal(report.ok, true);
  });
}

async function carry(dir, label) {
  let store;
  await check(`open the carried store as ${label}`, async () => {
    assert.equal(nativeLoadError(), undefined);
    store = await EventStore.open(dir, OPTIONS);
    assert.equal(store.engineName, 'native');
  });
  if (!store) return;
  await check('every earlier platform’s events are there, unchanged', async () => {
    const earlier = (await store.readStream('platforms')).map((e) => e.data.label);
    for (const other of earlier) {
      const events = await store.readStream(`from-${other}`);
      assert.equal(events.length, CARRY_EVENTS, `events of ${other}`);
      for (const [i, e] of events.entries()) assert.deepEqual(e.data, { label: other, i, text: `event ${i} of ${other}` });
    }
    lines.push(`     earlier platforms: ${earlier.join(', ') || 'none'}`);
  });
  await check(`append as ${label}`, async () => {
    for (let i = 0; i < CARRY_EVENTS; i += 30) {
      await store.append(
        `from-${label}`,
        Array.from({ length: 30 }, (_, j) => ({ type: 'Carried', data: { label, i: i + j, text: `event ${i + j} of ${label}` } })),
      );
    }
    await store.append('platforms', [{ type: 'Platform', data: { label } }]);
    await store.close();
  });
}

try {
  if (mode === 'api') await api(args[0]);
  else if (mode === 'carry') await carry(args[0], args[1]);
  else throw new Error(`unknown mode ${mode}`);
} catch (err) {
  failed++;
  lines.push(`FAIL ${mode}: ${err?.stack ?? err}`);
}
const report = mode === 'api' ? args[1] : args[2];
const text = `${lines.join('\n')}\n${passed} passed, ${failed} failed\n`;
fs.writeFileSync(report, text);
process.exitCode = failed ? 1 : 0;
