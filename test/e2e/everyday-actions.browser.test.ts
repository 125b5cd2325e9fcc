import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { type Browser, type BrowserContext, type Page } from 'playwright-core';

import { demoEmail, DEMO_PASSWORD } from '../../app/server/auth/bootstrap.server';
import { startApp, type AppProcess } from '../support/app-process';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium';

/**
 * Everyday actions in headless Chromium against `npm start`'s server, as a viewer in Los Angeles
 * meets them: times in their zone and no hydration errors, Save and publish, the Admin link,
 * the Jobs filters. Skipped, saying so, where Chromium is not installed.
 */
const SCREENSHOTS = path.resolve('test-results/screenshots');
const ZONE = 'America/Los_Angeles';
if (!hasChromium) console.warn(`\n  ${CHROMIUM} not found: browser tests are skipped.\n`);

describe.skipIf(!hasChromium)('everyday actions in Chromium, viewed from Los Angeles', () => {
  let dataDir: string;
  let app: AppProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-everyday-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    app = await startApp({ PGLITE_DATA_DIR: dataDir }, { startTimeoutMs: 120_000 });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1366, height: 900 }, timezoneId: ZONE });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error on ${page.url()}: ${message.text()}`);
    });
    await page.goto(app.url);
    await page.getByLabel('Email').fill(demoEmail('admin'));
    await page.getByLabel('Password').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => void (problems.length = 0));

  const nav = () => page.getByRole('navigation', { name: 'Main' });
  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const markPage = () => page.evaluate(() => ((window as unknown as { __samePage: boolean }).__samePage = true));
  const isSamePage = () => page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage === true);

  it(
    'shows times in the viewer’s zone and hydrates every page without an error, even a second later',
    {
      timeout: 120_000,
    },
    async () => {
      await nav().getByRole('link', { name: 'Queue' }).click();
      await page.getByRole('checkbox', { name: 'All chapters of PostgreSQL for Application Developers' }).check();
      await page.getByRole('button', { name: /Queue \d+ chapter/ }).click();
      await page.locator('tr[data-status="succeeded"]').first().waitFor({ timeout: 20_000 });
      await page.goto(`${app.url}/admin/tokens`);
      await page.getByLabel('Name').fill('CMS');
      await page.getByRole('button', { name: 'Create token' }).click();
      await page.getByTestId('new-token').waitFor();
      const jobPath = await page
        .goto(`${app.url}/jobs`)
        .then(() => page.locator('tr[data-status="succeeded"] a').first().getAttribute('href'));

      // Hydration a good second after the server rendered: every "N s ago" has moved on by then.
      await context.route('**/build/**/*.js', async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        await route.continue();
      });
      try {
        for (const pathname of [jobPath!, '/jobs', '/batches', '/routing', '/admin/tokens']) {
          await page.goto(`${app.url}${pathname}`);
          await page.waitForFunction(() => document.querySelector('main')?.textContent?.trim());
          await page.waitForLoadState('networkidle');
          await page.waitForTimeout(300);
        }
      } finally {
        await context.unroute('**/build/**/*.js');
      }
      expect(problems).toEqual([]);

      await page.goto(`${app.url}${jobPath}`);
      await page.getByRole('heading', { name: 'Timeline' }).waitFor();
      const times = await page
        .locator('.timeline time')
        .evaluateAll((nodes) => nodes.map((node) => [node.getAttribute('datetime')!, node.textContent!]));
      expect(times.length).toBeGreaterThan(1);
      const inZone = new Intl.DateTimeFormat('en-GB', {
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
        timeZone: ZONE,
      });
      for (const [iso, text] of times) expect(text).toBe(inZone.format(new Date(iso)));
      await shot('20-job-timeline-los-angeles');
      expect(problems).toEqual([]);
    },
  );

  it('saves and publishes a routing version from the Routing page in one click', async () => {
    await nav().getByRole('link', { name: 'Routing' }).click();
    await page.getByRole('heading', { name: 'Serving now' }).waitFor();
    await page.getByLabel('Canary percentage slider').fill('25');
    await page.getByLabel('Why (recorded with the version)').fill('Canary to 25% after a clean day');
    await page.getByRole('button', { name: 'Save and publish' }).click();
    // The demo history has routing versions of its own: this one is whatever comes next.
    const saved = page.getByText(/Saved version \d+ \(1 change\(s\)\)\./);
    await saved.waitFor();
    const version = /Saved version (\d+)/.exec(await saved.innerText())![1];
    await expect.poll(() => page.getByTestId('serving-version').innerText()).toBe(`v${version}`);
    await shot('21-routing-saved-and-published');
    expect(problems).toEqual([]);
  });

  it('opens Admin from its link without reloading the page', async () => {
    await page.goto(`${app.url}/jobs`);
    await markPage();
    await nav().getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { name: 'Staff', exact: true }).waitFor();
    expect(await isSamePage()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('serves a favicon that the pages link to', async () => {
    await page.goto(`${app.url}/jobs`);
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.ico');
    const icon = await page.request.get(`${app.url}/favicon.ico`);
    expect(icon.status()).toBe(200);
    expect((await icon.body()).subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0]));
  });
});
