import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineName, EventStore } from '../lib/index.js';
import { createServer } from '../lib/server/http-api.js';
import { ENGINES, openStore, tempDir } from './helpers.js';

const ENGINE = ENGINES[0] as EngineName;
const CLI = path.join(import.meta.dirname, '..', 'lib', 'cli', 'main.ts');

/** `annals serve <dir>` in its own process, on a free port; stop() ends it with SIGTERM. */
async function annalsServe(dir: string, flags: string[] = []): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', dir, '--port', '0', '--engine', ENGINE, ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/\S+?)\/ /.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', () => reject(new Error(`serve exited: ${out}`)));
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`Chromium is missing at ${CHROMIUM}; .ci/run installs Debian's chromium package`);

describe.skipIf(!available)('Stream Browser in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('lists a stream, opens it and an event, appends through the form, and shows new events live', async () => {
    const store: EventStore = await openStore(tempDir(), ENGINE);
    await store.append(
      'order-42',
      [
        { type: 'OrderPlaced', data: { items: 3 } },
        { type: 'OrderPaid', data: { method: 'card' } },
      ],
      { commandId: 'place-42' },
    );
    // Longer than a page, and a server whose largest page is below what the page shows at once.
    await store.append(
      'long-1',
      Array.from({ length: 250 }, (_, i) => ({ type: 'Tick', data: { i } })),
      { commandId: 'bulk' },
    );
    const app = createServer(store, { token: 'tok', maxPageSize: 150 });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const page = await browser.newPage();
    try {
      await page.goto(`${base}/?token=tok#/`);
      await page.locator('#streams a', { hasText: 'order-42' }).click();
      await page.locator('table.events tr[data-position]').first().waitFor();
      expect(await page.locator('table.events tbody tr').count()).toBe(2);
      expect(await page.locator('#stream-version').textContent()).toBe('version 2');
      await page.locator('table.events a', { hasText: '1' }).first().click();
      await page.locator('#event-detail').waitFor();
      expect(await page.locator('#event-detail').textContent()).toContain('OrderPlaced');
      expect(await page.locator('#event-detail').textContent()).toContain('place-42');

      await page.goto(`${base}/?token=tok#/`);
      await page.fill('#f-stream', 'order-42');
      await page.fill('#f-type', 'OrderShipped');
      await page.fill('#f-data', '{"carrier":"post"}');
      await page.fill('#f-expected', '2');
      await page.click('#append-form button[type=submit]');
      await page.locator('#append-status', { hasText: 'version 3' }).waitFor();
      expect(await store.streamVersion('order-42')).toBe(3);

      await page.goto(`${base}/?token=tok#/stream/order-42`);
      await page.locator('table.events tbody tr').nth(2).waitFor();
      await store.append('order-42', [{ type: 'OrderDelivered', data: { at: 'door' } }]);
      await page.locator('table.events tbody tr', { hasText: 'OrderDelivered' }).waitFor({ timeout: 10_000 });
      expect(await page.locator('#stream-version').textContent()).toBe('version 4');

      await page.fill('#search-input', 'place-42');
      await page.click('#search button');
      await page.locator('h1', { hasText: 'Command place-42' }).waitFor();

      await page.goto(`${base}/?token=tok#/stream/long-1`);
      await page.locator('#stream-version', { hasText: 'version 250' }).waitFor();
      expect(await page.locator('table.events tbody tr').count()).toBe(100);
      expect(await page.locator('table.events tbody tr').first().textContent()).toContain('250');
      await page.locator('nav.pager a.next').first().click();
      await page.locator('#view', { hasText: 'versions 150 to 51 of 250' }).waitFor();
      await page.goto(`${base}/?token=tok#/command/bulk`);
      await page.locator('h1', { hasText: 'Command bulk' }).waitFor();
      expect(await page.locator('table.events tbody tr').count()).toBe(100);
      await page.locator('nav.pager a.next').click();
      await page.locator('table.events tbody tr', { hasText: 'Tick' }).first().waitFor();
      expect(await page.locator('table.events tbody tr').count()).toBe(100);

      // A hash change keeps the command's page (100 rows, a next link) until the stream's replaces it:
      // wait for the stream's own version before counting its pager.
      await page.goto(`${base}/?token=tok#/stream/order-42`);
      await page.locator('#stream-version', { hasText: 'version 4' }).waitFor();
      expect(await page.locator('table.events tbody tr').count()).toBe(4);
      expect(await page.locator('nav.pager a.next').count()).toBe(0);
      await page.setViewportSize({ width: 1100, height: 520 });
      await page.screenshot({ path: path.join(tempDir(), 'stream-browser.png') });
    } finally {
      await page.close();
      await app.close();
    }
  });
  // `annals serve --read-only` beside a running writer: the page follows what the writer appends.
  it('serve --read-only beside a writer shows its new streams and events live', async () => {
    const dir = tempDir();
    const writer = await openStore(dir, ENGINE);
    await writer.append('live-1', [{ type: 'Started', data: { n: 1 } }]);
    const server = await annalsServe(dir, ['--read-only']);
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/#/stream/live-1`);
      await page.locator('#stream-version', { hasText: 'version 1' }).waitFor();
      await writer.append('live-1', [{ type: 'Progressed', data: { n: 2 } }]);
      await page.locator('table.events tbody tr', { hasText: 'Progressed' }).waitFor({ timeout: 10_000 });
      expect(await page.locator('#stream-version').textContent()).toBe('version 2');
      await writer.append('live-2', [{ type: 'Started', data: { n: 3 } }]);
      // The stream list is not live: it is read when the page shows it, once the server has it.
      for (let i = 0; i < 200 && !(await (await fetch(`${server.url}/api/streams`)).text()).includes('live-2'); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await page.goto(`${server.url}/#/`);
      await page.locator('#streams a', { hasText: 'live-2' }).waitFor({ timeout: 10_000 });
    } finally {
      await page.close();
      await server.stop();
    }
  });

  // The store is filled and closed first, then `annals serve` opens it: nothing was written "since open".
  it('over a store filled before serve: pages every stream, all of a 10,000-event stream, categories, types, the log, consumers and stats', async () => {
    const dir = tempDir();
    const filler = await openStore(dir, ENGINE);
    for (let i = 0; i < 10_000; i += 1000) {
      await filler.append(
        'big-1',
        Array.from({ length: 1000 }, (_, k) => ({ type: 'Tick', data: { n: i + k + 1 } })),
      );
    }
    for (let i = 0; i < 230; i++) {
      await filler.append(`acct-${String(i).padStart(3, '0')}`, [
        { type: 'Opened', data: { i } },
        ...(i % 10 === 0 ? [{ type: 'Closed' }] : []),
      ]);
    }
    const sub = filler.subscribe({ consumer: 'mailer', filter: { types: 'Closed' } });
    let seen = 0;
    for await (const _ of sub) if (++seen === 3) break;
    await filler.close();

    const serve = await annalsServe(dir);
    const base = serve.url;
    const page = await browser.newPage();
    const rows = (table: string) => page.locator(`${table} tbody tr`);
    try {
      // Every stream, 100 a page, by id; the prefix search.
      await page.goto(`${base}/#/`);
      await page.locator('#streams a', { hasText: 'acct-000' }).waitFor();
      expect(await page.locator('#view').textContent()).not.toContain('since the store was opened');
      expect(await rows('#streams').count()).toBe(100);
      await page.locator('nav.pager a.next').click();
      await page.locator('#streams a', { hasText: 'acct-100' }).waitFor();
      await page.locator('nav.pager a.next').click();
      await page.locator('#streams a', { hasText: 'big-1' }).waitFor();
      expect(await rows('#streams').count()).toBe(31);
      expect(await page.locator('nav.pager a.next').count()).toBe(0);
      await page.fill('#prefix-input', 'acct-01');
      await page.click('#prefix-form button');
      await page.locator('#streams a', { hasText: 'acct-019' }).waitFor();
      expect(await rows('#streams').count()).toBe(10);

      // All of a 10,000-event stream, newest first, a page at a time to version 1.
      await page.goto(`${base}/#/stream/big-1`);
      await page.locator('#stream-version', { hasText: 'version 10000' }).waitFor();
      let pages = 1;
      while ((await page.locator('nav.pager a.next').count()) > 0) {
        const want = `versions ${10_000 - pages * 100} to`;
        await page.locator('nav.pager a.next').first().click();
        await page.locator('nav.pager', { hasText: want }).first().waitFor();
        pages++;
      }
      expect(pages).toBe(100);
      await page.locator('nav.pager a.prev').first().click();
      await page.locator('nav.pager', { hasText: 'versions 200 to 101 of 10000' }).first().waitFor();
      await page.locator('nav.pager a.next').first().click();
      // The rows are read once the page shows the new range, not while the old one is still up.
      await page.locator('nav.pager', { hasText: 'versions 100 to 1 of 10000' }).first().waitFor();
      expect(await rows('table.events').last().textContent()).toContain('{"n":1}');

      // A category and an event type.
      await page.goto(`${base}/#/category`);
      await page.fill('#category-input', 'acct');
      await page.click('#category-form button');
      await page.locator('#category-events').waitFor();
      expect(await rows('#category-events').count()).toBe(100);
      const streamsShown = await page.locator('#category-events tbody tr td:nth-child(2)').allTextContents();
      expect(streamsShown.every((t) => t.startsWith('acct-'))).toBe(true);
      await page.locator('#category-events a.type', { hasText: 'Closed' }).first().click();
      await page.locator('#type-events').waitFor();
      expect(await rows('#type-events').count()).toBe(23);
      expect(await page.locator('nav.pager a.next').count()).toBe(0);

      // The global log through a filter.
      await page.goto(`${base}/#/log`);
      await page.locator('#log-events').waitFor();
      expect(await rows('#log-events').count()).toBe(100);
      await page.fill('#streamPrefix', 'acct-2');
      await page.fill('#types', 'Closed, Opened');
      await page.click('#log-filter button');
      await page.locator('#log-events tbody tr', { hasText: 'acct-229' }).waitFor();
      expect(await rows('#log-events').count()).toBe(33);

      // Consumers with their lag, and a reset.
      await page.goto(`${base}/#/consumers`);
      const mailer = page.locator('#consumers tr[data-consumer="mailer"]');
      await mailer.waitFor();
      expect(await mailer.locator('td.lag').textContent()).toBe('20');
      await mailer.locator('button').click();
      await page.locator('#consumers tr[data-consumer="mailer"] td.lag', { hasText: '23' }).waitFor();

      // Stats: counts, disk use per chunk, and charts drawn from the activity history.
      await page.goto(`${base}/#/stats`);
      await page.locator('#stat-events', { hasText: /^10,2[5-9]\d/ }).waitFor(); // with the consumer's checkpoint events
      expect(await rows('#chunk-usage').count()).toBeGreaterThan(0);
      for (const id of ['chart-appends', 'chart-flush', 'chart-builds']) await page.locator(`svg#${id}`).waitFor();
      for (let i = 0; i < 40; i++) {
        const res = await fetch(`${base}/api/streams/late-${i}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ events: [{ type: 'Late' }] }),
        });
        expect(res.status).toBe(201);
      }
      // Two points or more: a line segment ('L') in the path.
      await page.locator('svg#chart-appends path.line[d*="L"]').waitFor({ timeout: 15_000 });
      await page.setViewportSize({ width: 1200, height: 900 });
      await page.screenshot({ path: path.join(tempDir(), 'stats.png'), fullPage: true });
    } finally {
      await page.close();
      await serve.stop();
    }
  });
});
