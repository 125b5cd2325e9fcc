import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { type Browser, type Page } from 'playwright-core';

import { demoEmail, DEMO_PASSWORD } from '../../app/server/auth/bootstrap.server';
import type { Role } from '../../app/domain/permissions';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-stand-in';
import { startApp, type AppProcess } from '../support/app-process';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium';

/**
 * Economy delivery in Chromium against `npm start`'s server and the Message Batches stand-in: ops
 * sends the batch route to `batch`, a content manager queues an economy batch (the saving shown
 * before submit), sees its jobs in a provider batch, then done, with the saving shown.
 */
const SCREENSHOTS = path.resolve('test-results/screenshots');
if (!hasChromium) console.warn(`\n  ${CHROMIUM} not found: browser tests are skipped.\n`);

describe.skipIf(!hasChromium)('an economy batch in Chromium', () => {
  let dataDir: string;
  let app: AppProcess;
  let browser: Browser;
  let standIn: AnthropicStandIn;
  const problems: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-economy-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    standIn = await startAnthropicStandIn();
    // The first poll still finds the provider batch in progress, so the page can show it there.
    standIn.batches.behave({ endAfterPolls: 1 });
    app = await startApp(
      {
        PGLITE_DATA_DIR: dataDir,
        ANTHROPIC_API_KEY: 'stand-in-key',
        ANTHROPIC_BASE_URL: standIn.url,
        BATCH_LINGER_SECONDS: '0',
        BATCH_POLL_SECONDS: '1',
      },
      { startTimeoutMs: 120_000 },
    );
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await standIn?.close();
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

  it('queues an economy batch that goes through a provider batch at half price', { timeout: 170_000 }, async () => {
    const ops = await signedIn('ops');
    await ops.goto(`${app.url}/routing`);
    await ops.getByRole('heading', { name: 'Serving now' }).waitFor();
    expect(await ops.getByLabel('Rule 2 path').inputValue()).toBe('/api/content/batch-*');
    // Where errored batch results retry is asked only of a batch rule.
    await expect.poll(() => ops.getByLabel('Rule 2 errored batch retries go to').count()).toBe(0);
    await ops.getByLabel('Rule 2 destination').selectOption('batch');
    expect(await ops.getByLabel('Rule 2 errored batch retries go to').inputValue()).toBe('batch');
    await ops.getByLabel('Rule 2 priority').selectOption('low');
    await ops.getByLabel('Why (recorded with the version)').fill('Economy batches at half price');
    await ops.getByRole('button', { name: 'Save and publish' }).click();
    const saved = ops.getByText(/Saved version \d+ \(2 change\(s\)\)\./);
    await saved.waitFor();
    const version = /Saved version (\d+)/.exec(await saved.innerText())![1];
    await expect.poll(() => ops.getByTestId('serving-version').innerText()).toBe(`v${version}`);

    const manager = await signedIn('content_manager');
    await manager.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Queue' }).click();
    await manager.getByRole('checkbox', { name: 'All chapters of PostgreSQL for Application Developers' }).check();
    await manager.getByLabel('Batch name').fill('Economy draft');
    await manager.getByLabel('Delivery').selectOption('economy');
    expect(await manager.getByTestId('expected-saving').textContent()).toMatch(/saves up to \$\d+\.\d{2}/);
    await manager.getByRole('button', { name: /Queue \d+ chapter/ }).click();
    await manager.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
    const batchUrl = manager.url();

    const status = manager.getByTestId('provider-batch-status');
    await expect
      .poll(
        async () => {
          await manager.reload();
          return (await status.count()) > 0 ? status.first().textContent() : null;
        },
        { timeout: 60_000, interval: 500 },
      )
      .toMatch(/in provider batch|ended, reading results|done/);
    expect(await manager.getByTestId('provider-batches').textContent()).toMatch(/msgbatch_standin_\d+/);
    await manager.screenshot({ path: path.join(SCREENSHOTS, 'economy-batch-in-provider.png'), fullPage: true });

    await expect
      .poll(
        async () => {
          await manager.goto(batchUrl);
          return status.first().textContent();
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toBe('done');
    expect(await manager.locator('tr[data-status="succeeded"]').count()).toBeGreaterThan(0);
    expect(await manager.locator('tr[data-status="pending"], tr[data-status="running"]').count()).toBe(0);
    const saving = await manager.getByTestId('provider-batch-saving').first().textContent();
    expect(Number(saving?.replace(/[$,]/g, ''))).toBeGreaterThan(0);
    await manager.screenshot({ path: path.join(SCREENSHOTS, 'economy-batch-done.png'), fullPage: true });
    // Nothing went through the streaming path: every chapter came from the provider batch.
    expect(standIn.requests).toEqual([]);
    expect(problems).toEqual([]);
  });
});
