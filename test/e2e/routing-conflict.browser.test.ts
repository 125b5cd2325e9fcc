import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { type Browser, type Page } from 'playwright-core';

import { demoEmail, DEMO_PASSWORD } from '../../app/server/auth/bootstrap.server';
import type { Role } from '../../app/domain/permissions';
import { startApp, type AppProcess } from '../support/app-process';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium';
import { startVercelStandIn, type VercelStandIn } from '../support/vercel-stand-in';

/**
 * Two ops change the routing at once, each in their own browser: the second save meets the
 * first one's change (who, why, what) instead of silently dropping it, and re-applies its own
 * change on top. Skipped, saying so, where Chromium is not installed.
 */
const SCREENSHOTS = path.resolve('test-results/screenshots');
if (!hasChromium) console.warn(`\n  ${CHROMIUM} not found: browser tests are skipped.\n`);

describe.skipIf(!hasChromium)('two ops on the Routing page at once, in Chromium', () => {
  let dataDir: string;
  let app: AppProcess;
  let browser: Browser;
  let vercel: VercelStandIn;
  const problems: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-routing-conflict-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    vercel = await startVercelStandIn();
    app = await startApp(
      {
        PGLITE_DATA_DIR: dataDir,
        EDGE_CONFIG: vercel.connectionString,
        VERCEL_API_TOKEN: vercel.apiToken,
        VERCEL_API_URL: vercel.apiUrl,
      },
      { startTimeoutMs: 120_000 },
    );
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await vercel?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function signedIn(role: Role): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`${role}: page error on ${page.url()}: ${error.message}`));
    page.on('console', (message) => {
      // Chromium logs every 4xx answer; the 409 of the stale save is the point of this test.
      if (message.text().includes('status of 409')) return;
      if (message.type() === 'error') problems.push(`${role}: console error on ${page.url()}: ${message.text()}`);
    });
    await page.goto(app.url);
    await page.getByLabel('Email').fill(demoEmail(role));
    await page.getByLabel('Password').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.goto(`${app.url}/routing`);
    await page.getByRole('heading', { name: 'Serving now' }).waitFor();
    return page;
  }
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const editingVersion = async (page: Page) =>
    Number(/editing v(\d+)/.exec(await page.getByRole('heading', { name: /Rules and canary/ }).innerText())![1]);

  it(
    'shows the second op the first op’s change, and re-applies the second op’s change on top',
    { timeout: 120_000 },
    async () => {
      const first = await signedIn('ops');
      const second = await signedIn('admin');
      const base = await editingVersion(first);
      expect(await editingVersion(second)).toBe(base);
      // Each sees the other (the second from the page load, the first at its next heartbeat).
      await second
        .getByTestId('presence')
        .getByText(/Demo ops, viewing v\d+/)
        .waitFor();

      await first.getByLabel('Canary percentage slider').fill('25');
      await first.getByLabel('Why (recorded with the version)').fill('Canary to 25% after a clean day');
      await first.getByRole('button', { name: 'Save draft' }).click();
      await first.getByText(`Saved version ${base + 1} as a draft`).waitFor();

      // The second op, still on the page as it was, moves the sticky key and saves.
      await second.getByLabel(/Sticky key/).selectOption('course');
      await second.getByLabel('Why (recorded with the version)').fill('Keep a course on one side');
      await second.getByRole('button', { name: 'Save draft' }).click();
      const conflict = second.getByTestId('conflict');
      await conflict.getByRole('heading', { name: `Saved meanwhile: your edit started from v${base}` }).waitFor();
      expect(await conflict.innerText()).toContain('Demo ops');
      expect(await conflict.innerText()).toContain('Canary to 25% after a clean day');
      expect(await conflict.innerText()).toMatch(/canaryPercent: \d+(\.\d+)? → 25/);
      const mine = conflict.getByRole('checkbox', { name: 'stickyKey: chapter → course' });
      expect(await mine.isChecked()).toBe(true);
      await shot(second, '30-routing-conflict');
      // The crawl's rule: nothing wider than a phone's screen, the conflict panel included.
      await second.setViewportSize({ width: 390, height: 900 });
      expect(await second.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await shot(second, '30-routing-conflict-390');
      await second.setViewportSize({ width: 1366, height: 900 });

      await conflict.getByRole('button', { name: `Re-apply the ticked changes on v${base + 1}` }).click();
      await second.getByText(`Saved version ${base + 2} as a draft with 1 change(s).`).waitFor();
      await expect.poll(() => editingVersion(second)).toBe(base + 2);
      expect(await second.locator('input[name="canaryPercent"]').inputValue()).toBe('25');
      expect(await second.locator('select[name="stickyKey"]').inputValue()).toBe('course');
      await shot(second, '31-routing-reapplied');
      expect(await second.getByTestId('conflict').count()).toBe(0);

      // Discarding instead: the first op, now behind, saves, sees the conflict and throws its edit away.
      await first.getByLabel('Canary percentage slider').fill('40');
      await first.getByLabel('Why (recorded with the version)').fill('Canary to 40%');
      await first.getByRole('button', { name: 'Save draft' }).click();
      await first.getByTestId('conflict').waitFor();
      await first.getByRole('link', { name: 'Discard my changes' }).click();
      await first.getByTestId('conflict').waitFor({ state: 'detached' });
      expect(await editingVersion(first)).toBe(base + 2);
      expect(await first.locator('input[name="canaryPercent"]').inputValue()).toBe('25');
      expect(problems).toEqual([]);
    },
  );

  it(
    'shows a publish as publishing… until Edge Config serves it, then live since, with the propagation time',
    { timeout: 60_000 },
    async () => {
      const ops = await signedIn('ops');
      vercel.lagReads(2_500);
      await ops.getByLabel('Canary percentage slider').fill('30');
      await ops.getByLabel('Why (recorded with the version)').fill('Canary to 30%');
      await ops.getByRole('button', { name: 'Save and publish' }).click();
      const state = ops.getByTestId('publish-state');
      await state.getByText(/^Publishing v\d+… Edge Config took the write at/).waitFor();
      await shot(ops, '32-routing-publishing');
      // The page reloads itself every second while it waits, and turns to "live" without a click.
      await state
        .getByText(/^v\d+ live since \d\d:\d\d:\d\d \S+ \(propagated in \d\.\d s\)\.$/)
        .waitFor({ timeout: 15_000 });
      const seconds = Number(/propagated in (\d\.\d) s/.exec(await state.innerText())![1]);
      expect(seconds).toBeGreaterThanOrEqual(2);
      expect(seconds).toBeLessThan(10);
      await shot(ops, '33-routing-live-since');
      expect(problems).toEqual([]);
    },
  );
});
