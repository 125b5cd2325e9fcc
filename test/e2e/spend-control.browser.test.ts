import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { type Browser, type Page } from 'playwright-core';

import { demoEmail, DEMO_PASSWORD } from '../../app/server/auth/bootstrap.server';
import type { Role } from '../../app/domain/permissions';
import { startApp, type AppProcess } from '../support/app-process';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium';

/**
 * Spend control in Chromium against `npm start`'s server: a content manager queues a batch with
 * a cap below one chapter's estimate, the worker's claim pauses it, finance sees it paused on
 * the Costs page (and the alert on every page), resumes it with one click, and the jobs run.
 */
const SCREENSHOTS = path.resolve('test-results/screenshots');
if (!hasChromium) console.warn(`\n  ${CHROMIUM} not found: browser tests are skipped.\n`);

describe.skipIf(!hasChromium)('spend control in Chromium', () => {
  let dataDir: string;
  let app: AppProcess;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-spend-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    app = await startApp({ PGLITE_DATA_DIR: dataDir }, { startTimeoutMs: 120_000 });
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function signedIn(role: Role): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error on ${page.url()}: ${message.text()}`);
    });
    await page.goto(app.url);
    await page.getByLabel('Email').fill(demoEmail(role));
    await page.getByLabel('Password').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    return page;
  }

  it('lets finance resume a batch paused at its cap, and its jobs run', { timeout: 150_000 }, async () => {
    const manager = await signedIn('content_manager');
    await manager.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Queue' }).click();
    await manager.getByRole('checkbox', { name: 'All chapters of PostgreSQL for Application Developers' }).check();
    await manager.getByLabel('Batch name').fill('Capped draft');
    // The cap field starts at the estimate; one cent is below a single chapter's.
    expect(Number(await manager.getByLabel('Spend cap (USD)').inputValue())).toBeGreaterThan(0.01);
    await manager.getByLabel('Spend cap (USD)').fill('0.01');
    await manager.getByRole('button', { name: /Queue \d+ chapter/ }).click();
    await manager.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
    const batchUrl = manager.url();
    const batchId = batchUrl.split('/').at(-1)!;

    const finance = await signedIn('finance');
    const row = finance.getByTestId(`batch-spend-${batchId}`);
    // The embedded worker's first claim pauses it; reload until the page shows that.
    await expect
      .poll(
        async () => {
          await finance.goto(`${app.url}/costs`);
          return row.textContent();
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .toContain('Paused');
    expect(await row.textContent()).toContain('of its $0.01 cap');
    expect(await finance.getByTestId('spend-alerts').textContent()).toContain('Batch "Capped draft" paused');
    await finance.screenshot({ path: path.join(SCREENSHOTS, 'costs-batch-paused.png'), fullPage: true });
    // Nothing wider than a phone's screen, paused row and alert banner included.
    await finance.setViewportSize({ width: 390, height: 844 });
    expect(await finance.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await finance.screenshot({ path: path.join(SCREENSHOTS, 'costs-batch-paused-390.png'), fullPage: true });
    await finance.setViewportSize({ width: 1366, height: 900 });

    // Its jobs stay pending with the reason shown on the batch's own page.
    await manager.goto(batchUrl);
    expect(await manager.getByTestId('batch-paused').textContent()).toContain('of its $0.01 cap');

    await row.getByRole('button', { name: 'Resume Capped draft' }).click();
    await finance.getByRole('status').filter({ hasText: 'The batch runs again, without a cap.' }).waitFor();
    expect(await finance.getByTestId('resumes').textContent()).toContain(`${demoEmail('finance')} resumed a batch`);

    await manager.goto(batchUrl);
    await expect
      .poll(
        async () => {
          await manager.reload();
          return manager.locator('tr[data-status="succeeded"]').count();
        },
        { timeout: 60_000, interval: 2_000 },
      )
      .toBeGreaterThan(0);
    await expect
      .poll(
        async () => {
          await manager.reload();
          return manager.locator('tr[data-status="pending"], tr[data-status="running"]').count();
        },
        { timeout: 60_000, interval: 2_000 },
      )
      .toBe(0);
    expect(problems).toEqual([]);
  });
});
