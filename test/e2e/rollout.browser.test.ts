import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { type Browser, type Page } from 'playwright-core';

import { demoEmail, DEMO_PASSWORD } from '../../app/server/auth/bootstrap.server';
import { openPglite } from '../../app/server/db/pglite.server';
import { startApp, type AppProcess } from '../support/app-process';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium';

/**
 * Ops start a rollout on the Routing page; the sweeper (the cron route) analyses it on jobs the
 * test writes with set outcomes: a good interval steps the weight up, a bad one rolls it back,
 * and the page shows the rollback with its reason. The app runs on PGlite files, so the test
 * writes its jobs while the app is stopped and starts it again to sweep.
 */
const SCREENSHOTS = path.resolve('test-results/screenshots');
const CRON_SECRET = 'cron-secret-for-the-rollout-test';
if (!hasChromium) console.warn(`\n  ${CHROMIUM} not found: browser tests are skipped.\n`);

describe.skipIf(!hasChromium)('a rollout on the Routing page, in Chromium', () => {
  let dataDir: string;
  let app: AppProcess;
  let browser: Browser;
  const problems: string[] = [];

  const start = () => startApp({ PGLITE_DATA_DIR: dataDir, CRON_SECRET }, { startTimeoutMs: 120_000 });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-rollout-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    app = await start();
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** With the app stopped: jobs of both variants that just finished, and the interval up. */
  async function writeJobs(jobs: { baseline: number; candidate: number; candidateFailures: number }) {
    // A new browser after the restart: no page of the stopped app is left to call it.
    await browser.close();
    await app.stop();
    const db = await openPglite(dataDir);
    try {
      const [rollout] = await db.query<{ id: string }>(`select id from public.rollouts where state = 'running'`);
      const [chapter] = await db.query<{ id: string }>('select id from public.chapters limit 1');
      for (const [variant, count, failures] of [
        ['baseline', jobs.baseline, 0],
        ['candidate', jobs.candidate, jobs.candidateFailures],
      ] as const)
        await db.query(
          `insert into public.chapter_content_jobs (chapter_id, status, model, max_tokens, created_by, rollout_id, variant,
             created_at, started_at, first_token_at, finished_at, output_tokens, cost_output_micros, cost_total_micros, error_code)
           select $1, case when i <= $4 then 'failed' else 'succeeded' end, 'claude-haiku-5-5', 1000, 'generator', $2, $3,
             now() - interval '20 seconds', now() - interval '19 seconds', now() - interval '18 seconds', now(), 1500,
             30000, 30000, case when i <= $4 then 'api_error' end
           from generate_series(1, $5) as i`,
          [chapter.id, rollout.id, variant, failures, count],
        );
      await db.query(`update public.rollouts set next_analysis_at = now() - interval '1 second' where id = $1`, [
        rollout.id,
      ]);
    } finally {
      await db.close();
    }
    app = await start();
    browser = await launchChromium();
  }

  async function sweep() {
    const response = await fetch(`${app.url}/api/cron/sweep`, { headers: { Authorization: `Bearer ${CRON_SECRET}` } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { rollouts: { decision: string; weight: number; reason?: string }[] }).rollouts;
  }

  async function signedIn(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error on ${page.url()}: ${message.text()}`);
    });
    await page.goto(app.url);
    await page.getByLabel('Email').fill(demoEmail('ops'));
    await page.getByLabel('Password').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.goto(`${app.url}/routing`);
    await page.getByRole('heading', { name: 'Rollouts' }).waitFor();
    return page;
  }

  it(
    'starts a rollout, steps it up after a good interval and rolls it back after a bad one',
    { timeout: 300_000 },
    async () => {
      let page = await signedIn();
      await page.getByText('Start a rollout').click();
      const form = page.locator('form.rollout-form');
      // A bad plan first: the refusal names the field and starts nothing.
      await form.getByLabel('Steps (%)').fill('50, 10');
      await form.getByRole('button', { name: 'Start the rollout' }).click();
      await page.getByText('plan.steps[1]: steps must increase').waitFor();
      await page.getByText('No rollout in progress.').waitFor();

      if (!(await form.isVisible())) await page.getByText('Start a rollout').click();
      await form.getByLabel('Rule').selectOption('generate');
      await form.getByLabel('Steps (%)').fill('50, 100');
      await form.getByLabel('Interval (s)').fill('60');
      await form.getByLabel('Minimum sample').fill('5');
      await form.getByLabel('Failures before rollback').fill('1');
      await form.getByRole('button', { name: 'Start the rollout' }).click();
      await page.getByText('Rollout started on rule generate at 50 %.').waitFor();
      const live = page.getByRole('article', { name: 'Rollout on rule generate' });
      expect(await live.locator('.rollout-weight').innerText()).toBe('50 %');
      expect(await live.locator('.rollout-step').innerText()).toMatch(/^1 of 2/);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'rollout-started.png'), fullPage: true });

      // A good interval: the candidate does as well as the baseline → the next step.
      await writeJobs({ baseline: 10, candidate: 10, candidateFailures: 0 });
      expect(await sweep()).toMatchObject([{ decision: 'step', weight: 100 }]);
      page = await signedIn();
      const stepped = page.getByRole('article', { name: 'Rollout on rule generate' });
      expect(await stepped.locator('.rollout-weight').innerText()).toBe('100 %');
      expect(await stepped.locator('.rollout-step').innerText()).toMatch(/^2 of 2/);
      await stepped.getByRole('cell', { name: 'pass' }).first().waitFor();
      // A chart per checked metric: baseline and candidate drawn at the analysis so far.
      const successChart = stepped.getByRole('figure', { name: 'Success rate (%), baseline vs candidate' });
      await successChart.locator('.recharts-legend-item-text').nth(1).waitFor();
      expect(await successChart.locator('.recharts-line').count()).toBe(2);
      expect(await successChart.locator('.recharts-legend-item-text').allInnerTexts()).toEqual([
        'Baseline',
        'Candidate',
      ]);
      // Nothing wider than a phone's screen, with the live rollout and the start form open.
      await page.setViewportSize({ width: 390, height: 900 });
      await page.getByText('Start a rollout').click();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'rollout-390.png'), fullPage: true });

      // A bad interval: half the candidate's jobs fail → rolled back, with the metric and its numbers.
      await writeJobs({ baseline: 0, candidate: 10, candidateFailures: 5 });
      const [rolledBack] = await sweep();
      expect(rolledBack).toMatchObject({ decision: 'rollback', weight: 0 });
      page = await signedIn();
      const banner = page.getByRole('alert').filter({ hasText: 'rolled back automatically' });
      expect(await banner.innerText()).toMatch(
        /rule generate was rolled back automatically: success_rate: candidate 50 vs baseline 100/,
      );
      await page.getByText('No rollout in progress.').waitFor();
      await page
        .getByRole('table', { name: 'Past rollouts' })
        .getByText(/rolled back automatically/)
        .waitFor();
      await page.screenshot({ path: path.join(SCREENSHOTS, 'rollout-rolled-back.png'), fullPage: true });
      // The one 400 is the refused plan's answer, which Chromium logs.
      expect(problems.filter((problem) => !problem.includes('status of 400'))).toEqual([]);
    },
  );
});
