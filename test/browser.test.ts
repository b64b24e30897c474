import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore } from '../lib/index.js';
import { createServer } from '../lib/server/http-api.js';
import { openStore, tempDir } from './helpers.js';

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
    const store: EventStore = await openStore(tempDir(), 'native' as const).catch(() => openStore(tempDir(), 'js'));
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
      await page.locator('#recent-streams a', { hasText: 'order-42' }).click();
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
      expect(await page.locator('table.events tbody tr').count()).toBe(200);
      expect(await page.locator('table.events tbody tr').first().textContent()).toContain('250');
      expect(await page.locator('#view').textContent()).toContain('Showing the newest 200 events');
      await page.goto(`${base}/?token=tok#/command/bulk`);
      await page.locator('h1', { hasText: 'Command bulk' }).waitFor();
      expect(await page.locator('table.events tbody tr').count()).toBe(250);

      await page.goto(`${base}/?token=tok#/stream/order-42`);
      await page.locator('table.events tbody tr').nth(3).waitFor();
      expect(await page.locator('#view').textContent()).not.toContain('Showing the newest');
      await page.setViewportSize({ width: 1100, height: 520 });
      await page.screenshot({ path: path.join(tempDir(), 'stream-browser.png') });
    } finally {
      await page.close();
      await app.close();
    }
  });
});
