import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { type Browser, type Page } from 'playwright-core';

import { demoEmail, DEMO_PASSWORD } from '../../app/server/auth/bootstrap.server';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-stand-in';
import { startApp, type AppProcess } from '../support/app-process';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium';

/**
 * The dashboard in a real headless Chromium against `npm start`'s server on a clean embedded
 * database. Screenshots land in test-results/screenshots. Skipped, saying so, where Chromium is
 * not installed (`apt-get install -y chromium`; .ci/run installs it).
 */
const SCREENSHOTS = path.resolve('test-results/screenshots');
if (!hasChromium)
  console.warn(`\n  ${CHROMIUM} not found: browser tests are skipped. Install it with: apt-get install -y chromium\n`);

describe.skipIf(!hasChromium)('the dashboard in Chromium', () => {
  let dataDir: string;
  let app: AppProcess;
  let browser: Browser;
  let anthropic: AnthropicStandIn;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-browser-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    // The real Anthropic SDK against the local stand-in, so jobs have real usage and cost.
    anthropic = await startAnthropicStandIn();
    anthropic.setDefault({
      text: Array.from({ length: 12 }, (_, i) => `Paragraph ${i} of the chapter.\n\n`),
      delayMs: 60,
    });
    app = await startApp({
      PGLITE_DATA_DIR: dataDir,
      ANTHROPIC_API_KEY: 'sk-ant-browser-test',
      ANTHROPIC_BASE_URL: anthropic.url,
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await anthropic?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function signedIn(role: 'content_manager' | 'finance' | 'ops'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    await page.goto(app.url);
    await page.getByLabel('Email').fill(demoEmail(role));
    await page.getByLabel('Password').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    return page;
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  it('lets a content manager queue a batch, watch it live, cancel a job and read a finished chapter', async () => {
    const page = await signedIn('content_manager');
    await shot(page, '01-overview');
    await page.getByRole('link', { name: 'Queue' }).click();
    await page.getByRole('checkbox', { name: 'All chapters of PostgreSQL for Application Developers' }).check();
    await page.getByRole('checkbox', { name: 'All chapters of A Practical Introduction to TypeScript' }).check();
    await page.getByLabel('Batch name').fill('Browser test batch');
    await page.getByTestId('estimate').getByText('9 chapter(s)').waitFor();
    await shot(page, '02-queue');
    await page.getByRole('button', { name: /Queue 9 chapter/ }).click();
    await page.getByRole('heading', { name: 'Browser test batch' }).waitFor();

    // From here on the page must never reload: live updates patch it in place.
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const rows = page.locator('tr[data-job-id]');
    await expect.poll(() => rows.count()).toBe(9);
    await expect
      .poll(() => page.locator('tr[data-status="succeeded"]').count(), { timeout: 20_000 })
      .toBeGreaterThan(0);
    await shot(page, '03-batch-live');

    const pending = page.locator('tr[data-status="pending"]').last();
    const pendingTitle = await pending.locator('a').innerText();
    await pending.locator('a').click();
    await page.getByRole('button', { name: 'Cancel job' }).click();
    // The job may have started between reading the list and the click: then the worker is
    // asked to stop it. Either way the user is told, and the job ends cancelled.
    await page.getByText(/Cancelled\.|Cancel requested: the worker is stopping the generation\./).waitFor();
    await page.locator('.badge-cancelled').first().waitFor({ timeout: 60_000 });
    await shot(page, '04-job-cancelled');
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toContain(pendingTitle);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click();
    await page.locator('tr[data-status="succeeded"] a').first().click();
    await page.getByRole('heading', { name: 'Result' }).waitFor();
    await expect
      .poll(() => page.getByRole('article', { name: 'Generated chapter' }).innerText())
      .toContain('Paragraph 11 of the chapter.');
    await shot(page, '05-job-result');
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  });

  it('shows finance cost charts drawn with data, a table view, and a CSV that downloads', async () => {
    const page = await signedIn('finance');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Costs' }).click();
    await page.getByRole('heading', { name: 'Daily cost by component' }).waitFor();
    await expect.poll(() => page.getByTestId('range-total').innerText()).not.toBe('$0.00');
    const bars = page.locator('#chart-daily').locator('xpath=ancestor::section').locator('.recharts-bar-rectangle');
    await expect.poll(() => bars.count()).toBeGreaterThan(0);
    await shot(page, '06-costs');
    const panel = page.locator('section', { has: page.getByRole('heading', { name: 'Cost by model' }) });
    await panel.getByRole('button', { name: 'Table' }).click();
    await panel.getByRole('cell', { name: 'claude-sonnet-5-5' }).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      panel.getByRole('link', { name: 'CSV' }).click(),
    ]);
    const csv = await readFile((await download.path())!, 'utf8');
    expect(csv.split('\n')[0]).toBe('Model,Attempts,Cost (USD),Unpriced attempts (cost unknown)');
    expect(csv).toContain('claude-sonnet-5-5');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Latency' }).click();
    await page.getByRole('heading', { name: 'End-to-end latency by destination' }).waitFor();
    await shot(page, '07-latency');
  });

  it('refuses the Routing page to a content manager, and shows it to ops', async () => {
    const cm = await signedIn('content_manager');
    expect(await cm.getByRole('link', { name: 'Routing' }).count()).toBe(0);
    const response = await cm.goto(`${app.url}/routing`);
    expect(response?.status()).toBe(403);
    await cm.getByText('may not do this').waitFor();
    await shot(cm, '08-routing-refused');

    const ops = await signedIn('ops');
    await ops.getByRole('link', { name: 'Routing' }).click();
    await ops.getByRole('heading', { name: 'Serving now' }).waitFor();
    await ops.getByLabel('Canary percentage slider').fill('25');
    await ops.getByTestId('canary-preview').getByText('at 25%').waitFor();
    await shot(ops, '09-routing');
  });
});
