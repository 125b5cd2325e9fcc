import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { type Browser, type Locator, type Page, type Response } from 'playwright-core';

import { ROLES, type Role } from '../../app/domain/permissions';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-stand-in';
import { startApp, type AppProcess } from '../support/app-process';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium';
import { startCloudRunStandIn, type CloudRunStandIn } from '../support/cloud-run-stand-in';
import {
  chartProblems,
  downloadLinks,
  errorBoundaryText,
  Findings,
  isSubmissionAnswer,
  layoutProblems,
  oneLine,
  openCombination,
  routePattern,
  screenshot,
  shortUrl,
  signIn,
  TIME_ZONES,
  visibleErrors,
  visibleLinks,
  waitForHydration,
  waitForIdle,
  Watch,
  WIDTHS,
  type Combination,
} from '../support/crawl';

/**
 * The dashboard as each role meets it, crawled in Chromium against `npm start`'s server on a
 * fresh embedded database (Anthropic and Cloud Run stand-ins, so jobs cost money and the Worker
 * page can be operated). Per role, one combination of time zone and viewport gets the whole
 * interactive crawl: every page reachable from the navigation, every link clicked (one per
 * route pattern), every disclosure and button opened, every form submitted with valid and with
 * invalid input (destructive ones last or undone). All 16 combinations of role × time zone
 * (UTC, America/Los_Angeles) × width (1440, 390 px) then load every page found, hydrate it and
 * check its width. Anything wrong is collected and each role's test fails once with the list:
 * role, time zone, viewport, page, what. Screenshots of every page land in
 * test-results/screenshots/crawl/.
 */
const SCREENSHOTS = path.resolve('test-results/screenshots/crawl');
if (!hasChromium)
  console.warn(
    `\n  ${CHROMIUM} not found: the browser crawl is skipped. Install it with: apt-get install -y chromium\n`,
  );

/** Where each role's interactive crawl runs: spread so every time zone and width gets one. */
const INTERACTIVE: Record<Role, Omit<Combination, 'role'>> = {
  content_manager: { timeZone: 'America/Los_Angeles', width: 1440 },
  ops: { timeZone: 'UTC', width: 1440 },
  finance: { timeZone: 'UTC', width: 390 },
  admin: { timeZone: 'America/Los_Angeles', width: 390 },
};

type Kind = 'valid' | 'invalid' | 'unusual';

describe.skipIf(!hasChromium)('the dashboard, crawled in Chromium as every role', () => {
  let dataDir: string;
  let app: AppProcess;
  let browser: Browser;
  let anthropic: AnthropicStandIn;
  let cloudRun: CloudRunStandIn;
  const findings = new Findings();

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-crawl-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    anthropic = await startAnthropicStandIn();
    // Slow enough that a batch queued by the crawl is still running when it cancels it.
    anthropic.setDefault({
      text: Array.from({ length: 12 }, (_, i) => `Paragraph ${i} of the chapter.\n\n`),
      delayMs: 120,
    });
    cloudRun = await startCloudRunStandIn();
    app = await startApp(
      {
        PGLITE_DATA_DIR: dataDir,
        ANTHROPIC_API_KEY: 'sk-ant-crawl',
        ANTHROPIC_BASE_URL: anthropic.url,
        ...cloudRun.env,
      },
      { startTimeoutMs: 180_000 },
    );
    browser = await launchChromium();
    await queueJobsToCrawl();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await anthropic?.close();
    await cloudRun?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 120_000);

  /** Jobs and a batch exist before the crawl, some finished, so job and batch pages have something to show. */
  async function queueJobsToCrawl() {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${app.url}/sign-in`);
    await signIn(page, app.url, 'content_manager');
    await page.goto(`${app.url}/submit`);
    await waitForHydration(page);
    // A few chapters, not whole courses: the demo history can make a course long.
    for (const chapter of (await page.locator('input[name="chapter_ids"]').all()).slice(0, 5)) await chapter.check();
    await page.getByLabel('Batch name').fill('Crawl seed batch');
    await page.getByRole('button', { name: /^Queue \d+ chapter/ }).click();
    await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/, { timeout: 60_000 });
    // The batch page updates live: wait for two finished jobs on it.
    await page.waitForFunction(() => document.querySelectorAll('tr[data-status="succeeded"]').length >= 2, undefined, {
      timeout: 180_000,
    });
    await context.close();
  }

  for (const role of ROLES) {
    it(`${role}: every page, link, disclosure and form, then every page in 2 time zones × 2 widths`, async () => {
      const interactive: Combination = { role, ...INTERACTIVE[role] };
      const pages = await crawlInteractively(interactive);
      for (const timeZone of TIME_ZONES)
        for (const width of WIDTHS) {
          const combination: Combination = { role, timeZone, width };
          if (timeZone === interactive.timeZone && width === interactive.width) continue;
          await visitEverywhere(combination, pages);
        }
      const mine = findings.forRole(role);
      if (mine.length > 0) throw new Error(Findings.report(mine));
    }, 1_200_000);
  }

  /** Loads every page found by the interactive crawl in one more combination: hydration, errors, width. */
  async function visitEverywhere(combination: Combination, urls: string[]) {
    const watch = new Watch();
    const { context, page } = await openCombination(browser, combination, findings, watch);
    try {
      await signIn(page, app.url, combination.role);
      for (const url of urls) await visit(page, watch, combination, url);
    } finally {
      await context.close();
    }
  }

  /** One page load, as a person arriving by URL: server render, hydration, layout, screenshot. */
  async function visit(page: Page, watch: Watch, combination: Combination, url: string) {
    const response = await page.goto(url, { waitUntil: 'load' });
    if (response && response.status() >= 400)
      findings.add(combination, url, `page answered ${response.status()} when loaded directly`);
    await hydrated(page, combination, url);
    await waitForIdle(page, watch);
    for (const problem of await layoutProblems(page, combination.width)) findings.add(combination, url, problem);
    for (const problem of await chartProblems(page)) findings.add(combination, url, problem);
    const boundary = await errorBoundaryText(page);
    if (boundary) findings.add(combination, url, `error page instead of the page: ${boundary}`);
    await screenshot(page, SCREENSHOTS, combination, url);
  }

  async function hydrated(page: Page, combination: Combination, url: string) {
    try {
      await waitForHydration(page);
      return true;
    } catch {
      findings.add(combination, url, 'the page never hydrated (its browser code did not run) within 30 s');
      return false;
    }
  }

  /**
   * The whole interactive crawl for one role. Returns one URL per route pattern found, for the
   * other combinations to load.
   */
  async function crawlInteractively(combination: Combination): Promise<string[]> {
    const watch = new Watch();
    const { context, page } = await openCombination(browser, combination, findings, watch);
    const crawler = new Crawler(page, combination, watch);
    try {
      await crawler.signInWithWrongThenRightPassword();
      const nav = await page.getByRole('navigation', { name: 'Main' }).locator('a[href]').all();
      const queue = await Promise.all(
        nav.map(async (link) => new URL((await link.getAttribute('href'))!, app.url).href),
      );
      const visited = new Map<string, string>();
      while (queue.length > 0) {
        const url = queue.shift()!;
        const pattern = routePattern(url);
        if (visited.has(pattern)) continue;
        visited.set(pattern, url);
        const found = await crawler.explore(url);
        for (const next of found.arrivedAt) if (!visited.has(routePattern(next))) queue.unshift(next);
        for (const next of found.links) if (!visited.has(routePattern(next))) queue.push(next);
      }
      await crawler.signOutAndBackIn();
      return [...visited.values()];
    } finally {
      await context.close();
    }
  }

  /** Acts on pages as one person in one browser context, recording what goes wrong. */
  class Crawler {
    private readonly clicked = new Set<string>();
    private readonly pressed = new Set<string>();
    private readonly arrivedAt: string[] = [];

    constructor(
      readonly page: Page,
      readonly combination: Combination,
      readonly watch: Watch,
    ) {}

    note(what: string, url = this.page.url()) {
      findings.add(this.combination, url, what);
    }

    async signInWithWrongThenRightPassword() {
      const { page } = this;
      await page.goto(`${app.url}/sign-in`);
      await waitForHydration(page);
      await this.act('invalid', 'sign in with a wrong password', async () => {
        await page.getByLabel('Email').fill(`${this.combination.role.replace('_', '-')}@demo.switchyard.local`);
        await page.getByLabel('Password').fill('not-the-password');
        await page.getByRole('button', { name: 'Sign in' }).click();
      });
      await screenshot(page, SCREENSHOTS, this.combination, page.url());
      await this.act('valid', 'sign in', () => signIn(page, app.url, this.combination.role));
    }

    async signOutAndBackIn() {
      const { page } = this;
      await page.goto(app.url);
      await waitForHydration(page);
      await this.act('valid', 'sign out', async () => {
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.waitForURL(/\/sign-in/);
      });
      if (!new URL(page.url()).pathname.startsWith('/sign-in'))
        this.note('"Sign out" did not lead to the sign-in page');
      await signIn(page, app.url, this.combination.role);
    }

    /** Everything on one page: load it, check it, its forms, its buttons and disclosures, its links. */
    async explore(url: string): Promise<{ links: string[]; arrivedAt: string[] }> {
      const { page, combination } = this;
      this.arrivedAt.length = 0;
      await visit(page, this.watch, combination, url);
      const links = (await visibleLinks(page, app.url)).map((link) => link.href);
      const recipe = RECIPES[routePattern(url).split('?')[0]];
      if (recipe) await this.safely(`its forms`, () => recipe(this, url));
      await this.safely('its buttons', () => this.pressButtons(url));
      await this.safely('its downloads', () => this.download(url));
      await this.safely('its links', () => this.clickLinks(url));
      return { links, arrivedAt: [...this.arrivedAt] };
    }

    /** A crawl step that breaks (an element missing, a timeout) is a finding; the crawl goes on. */
    async safely(what: string, step: () => Promise<void>) {
      try {
        await step();
      } catch (error) {
        this.note(`the crawl could not exercise ${what}: ${oneLine(String((error as Error).message))}`);
      }
    }

    async open(url: string) {
      await this.page.goto(url);
      await waitForHydration(this.page);
    }

    /**
     * Submits something and judges the answer. Valid input must not be refused (4xx), break (5xx)
     * or end in an error page; invalid input must be refused with a visible message and no 5xx;
     * unusual input must simply not break anything.
     */
    async act(kind: Kind, label: string, perform: () => Promise<void>) {
      const { page, watch } = this;
      const before = watch.responses.length;
      // Only messages that the action brings count (a page may show a standing warning).
      const shownBefore = await visibleErrors(page);
      watch.expecting4xx = kind !== 'valid';
      try {
        await perform();
        // The submission's answer, if it has not come yet; then everything it set off.
        if (watch.responses.length === before)
          await page
            .waitForResponse((response) => isSubmissionAnswer(response), { timeout: 15_000 })
            .catch(() => undefined);
        await waitForIdle(page, watch);
      } catch (error) {
        this.note(`could not ${label}: ${oneLine(String((error as Error).message))}`);
        return;
      } finally {
        watch.expecting4xx = false;
      }
      const answers = watch.responses.slice(before);
      const refused = answers.filter((response) => response.status() >= 400 && response.status() < 500);
      const boundary = await errorBoundaryText(page);
      const errors = (await visibleErrors(page)).filter((text) => !shownBefore.includes(text));
      if (kind === 'valid') {
        for (const response of refused)
          this.note(`valid input, "${label}": answered ${response.status()} ${await messageOf(response)}`);
        if (boundary) this.note(`valid input, "${label}": ended in an error page: ${boundary}`);
        else if (refused.length === 0 && errors.length > 0)
          this.note(`valid input, "${label}": shows an error: ${errors.join(' / ')}`);
      } else {
        if (boundary && !/^4\d\d /.test(boundary))
          this.note(`${kind} input, "${label}": ended in an error page: ${boundary}`);
        if (kind === 'invalid' && refused.length === 0 && errors.length === 0 && !boundary)
          this.note(`invalid input, "${label}": was accepted, with no error shown`);
        if (kind === 'invalid' && refused.length > 0 && errors.length === 0 && !boundary)
          this.note(`invalid input, "${label}": refused (${refused[0].status()}) but the page shows no message`);
      }
    }

    /** Buttons that are not submit buttons (tabs, toggles, "Add rule") and disclosures: each kind once. */
    async pressButtons(url: string) {
      const { page } = this;
      const controls = page.locator('main button[type="button"], main summary');
      const count = await controls.count();
      let pressedAny = false;
      for (let i = 0; i < count; i++) {
        const control = controls.nth(i);
        if (!(await control.isVisible()) || !(await control.isEnabled())) continue;
        const name = ((await control.getAttribute('aria-label')) ?? (await control.innerText())).trim();
        const key = `${routePattern(url)}|${name.replace(/\d+/g, '#')}`;
        if (this.pressed.has(key)) continue;
        this.pressed.add(key);
        pressedAny = true;
        await control.click();
        await waitForIdle(page, this.watch);
        const boundary = await errorBoundaryText(page);
        if (boundary) this.note(`pressing "${name}" ended in an error page: ${boundary}`);
        const dialog = page.locator('dialog[open], [role="dialog"], [role="alertdialog"]');
        if ((await dialog.count()) > 0 && (await dialog.first().isVisible())) {
          const close = dialog.first().getByRole('button', { name: /^(no|cancel|close)\b/i });
          if ((await close.count()) > 0) await close.first().click();
          else await page.keyboard.press('Escape');
        }
      }
      if (pressedAny) await this.open(url);
    }

    /** CSV and other downloads: each must arrive. */
    async download(url: string) {
      const { page } = this;
      for (const link of await downloadLinks(page)) {
        const href = (await link.getAttribute('href'))!;
        const key = `download|${routePattern(new URL(href, app.url).href)}`;
        if (this.clicked.has(key) || !(await link.isVisible())) continue;
        this.clicked.add(key);
        const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), link.click()]);
        const failure = await download.failure();
        if (failure) this.note(`download ${shortUrl(download.url())} failed: ${failure}`, url);
      }
    }

    /** Clicks each link whose target route pattern was not clicked yet, and checks where it lands. */
    async clickLinks(url: string) {
      const { page } = this;
      const links = await visibleLinks(page, app.url);
      for (const link of links) {
        const target = routePattern(link.href);
        if (this.clicked.has(target)) continue;
        this.clicked.add(target);
        if (page.url() !== url) await this.open(url);
        const anchor = page.locator(`a[href="${shortUrl(link.href)}"]:visible`).first();
        if ((await anchor.count()) === 0) continue;
        await anchor.click();
        const wanted = new URL(link.href);
        try {
          await page.waitForURL((current) => current.pathname === wanted.pathname, { timeout: 30_000 });
        } catch {
          this.note(
            `clicking "${link.text}" (${shortUrl(link.href)}) did not open it: still at ${shortUrl(page.url())}`,
            url,
          );
          continue;
        }
        await waitForIdle(page, this.watch);
        const boundary = await errorBoundaryText(page);
        if (boundary) this.note(`clicking "${link.text}" led to an error page: ${boundary}`, link.href);
        if (!(await page.locator('main h1').first().isVisible()))
          this.note(`clicking "${link.text}" led to a page without a heading`, link.href);
      }
    }

    // Helpers for recipes.

    async submitWithoutBrowserChecks(form: Locator) {
      await form.evaluate((element) => ((element as HTMLFormElement).noValidate = true));
    }

    arrived() {
      this.arrivedAt.push(this.page.url());
    }
  }

  type Recipe = (crawler: Crawler, url: string) => Promise<void>;

  /**
   * How to fill each page's forms with valid and with invalid input, by route pattern. Forms
   * that destroy (revoke, disable, kill switch) act on what the crawl itself created, or are
   * undone right after, so the crawl and the roles after it can go on.
   */
  const RECIPES: Record<string, Recipe> = {
    '/jobs': async (c, url) => {
      const { page } = c;
      const filters = page.locator('form.filters');
      await c.act('valid', 'filter jobs by status', async () => {
        await filters.getByLabel('Status').selectOption('succeeded');
        await filters.getByRole('button', { name: 'Filter' }).click();
        await page.waitForURL(/status=succeeded/);
      });
      await c.act('valid', 'clear the filters', async () => {
        await filters.getByRole('link', { name: 'Clear' }).click();
        await page.waitForURL((current) => !current.search.includes('status='));
      });
      if ((await filters.getByLabel('Status').inputValue()) !== '')
        c.note('"Clear" reset the address but the form still shows the old status filter (item 6)');
      await c.act('valid', 'filter again after clearing', async () => {
        await filters.getByRole('button', { name: 'Filter' }).click();
        await waitForIdle(page, c.watch);
      });
      if (new URL(page.url()).searchParams.get('status'))
        c.note('"Filter" after "Clear" applied the old filters again (item 6)');
      await c.act('unusual', 'search jobs for odd text', async () => {
        await filters.getByLabel('Search chapter').fill(`%00 <b>"'; --`);
        await filters.getByLabel('Rule').fill('x'.repeat(300));
        await filters.getByRole('button', { name: 'Filter' }).click();
        await page.waitForURL(/q=/);
      });

      await c.open(url);
      const bulk = page.getByRole('toolbar', { name: 'Bulk actions' });
      if ((await bulk.count()) === 0) return;
      for (const [verb, statuses] of [
        ['cancel', ['pending', 'running']],
        ['retry', ['cancelled', 'failed']],
      ] as const) {
        const row = page.locator(statuses.map((status) => `tr[data-status="${status}"]`).join(', ')).first();
        if ((await row.count()) === 0) continue;
        await c.act('valid', `${verb} the selected job`, async () => {
          await row.getByRole('checkbox').check();
          await bulk.getByRole('button', { name: verb === 'cancel' ? 'Cancel selected' : 'Retry selected' }).click();
          await page
            .getByRole('alertdialog')
            .getByRole('button', { name: `Yes, ${verb}` })
            .click();
          await page.locator('.toast').first().waitFor();
        });
        await c.open(url);
      }
    },

    '/jobs/:id': async (c, url) => {
      const { page } = c;
      for (const name of ['Cancel job', 'Retry']) {
        const button = page.getByRole('button', { name, exact: true });
        if ((await button.count()) === 0) continue;
        await c.act('valid', name.toLowerCase(), async () => {
          await button.click();
          await page.locator('.toast').first().waitFor();
        });
        await c.open(url);
      }
    },

    '/batches/:id': async (c) => {
      const { page } = c;
      const cancel = page.getByRole('button', { name: 'Cancel batch' });
      if ((await cancel.count()) === 0) return;
      if (await cancel.isEnabled()) c.note('"Cancel batch" can be pressed without ticking its confirmation');
      await c.act('valid', 'cancel the batch', async () => {
        await page.getByRole('checkbox', { name: /^Cancel the \d+ unfinished/ }).check();
        await cancel.click();
        await page.locator('.toast').first().waitFor();
      });
    },

    '/submit': async (c, url) => {
      const { page } = c;
      const form = page.locator('form.submit-form');
      await c.act('invalid', 'queue a batch with no chapter', async () => {
        await form.getByRole('button', { name: /^Queue/ }).click();
      });
      await c.open(url);
      await page.getByRole('tab', { name: 'One chapter' }).click();
      await c.act('invalid', 'queue one chapter with 0 max tokens', async () => {
        await c.submitWithoutBrowserChecks(form);
        await form.locator('select[name="chapter_id"]').selectOption({ index: 1 });
        await form.getByLabel('Max tokens per chapter').fill('0');
        await form.getByRole('button', { name: 'Queue chapter' }).click();
      });
      await c.open(url);
      await page.getByRole('tab', { name: 'One chapter' }).click();
      await c.act('valid', 'queue one chapter', async () => {
        await form.locator('select[name="chapter_id"]').selectOption({ index: 2 });
        await form.getByRole('button', { name: 'Queue chapter' }).click();
        await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, { timeout: 60_000 });
      });
      await c.open(url);
      await c.act('valid', 'queue a batch', async () => {
        for (const chapter of (await page.locator('input[name="chapter_ids"]').all()).slice(0, 8))
          await chapter.check();
        await page.getByLabel('Batch name').fill(`Crawl batch of ${c.combination.role}`);
        await form.getByRole('button', { name: /^Queue \d+ chapter/ }).click();
        await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/, { timeout: 60_000 });
      });
      // The new batch is still running: its page is explored next, while it can be cancelled.
      if (/\/batches\//.test(page.url())) c.arrived();
    },

    '/routing': async (c, url) => {
      const { page } = c;
      const editor = page.locator('form.routing-form');
      if ((await editor.locator('fieldset[disabled]').count()) > 0) return;
      await c.act('invalid', 'save routing without a comment', async () => {
        await c.submitWithoutBrowserChecks(editor);
        await editor.getByRole('button', { name: 'Save draft' }).click();
      });
      await c.open(url);
      await c.act('invalid', 'save routing with a 150% canary', async () => {
        await c.submitWithoutBrowserChecks(editor);
        await editor.locator('input[name="canaryPercent"]').fill('150');
        await editor.getByLabel(/^Why/).fill('Crawl: a canary above 100% must be refused');
        await editor.getByRole('button', { name: 'Save draft' }).click();
      });
      await c.open(url);
      await c.act('valid', 'save a routing draft', async () => {
        await editor.getByLabel(/^Why/).fill(`Crawl as ${c.combination.role}: save the serving rules as a draft`);
        await editor.getByRole('button', { name: 'Save draft' }).click();
        await page.locator('.toast').first().waitFor();
      });
      await c.open(url);
      const saveAndPublish = editor.getByRole('button', { name: 'Save and publish' });
      if ((await saveAndPublish.count()) > 0)
        await c.act('valid', 'save and publish routing', async () => {
          await editor.getByLabel(/^Why/).fill(`Crawl as ${c.combination.role}: publish the serving rules again`);
          await saveAndPublish.click();
          await page.locator('.toast').first().waitFor();
        });
      const history = page.locator('section', { has: page.getByRole('heading', { name: 'Version history' }) });
      for (const name of ['Publish', 'Revert to this']) {
        await c.open(url);
        const button = history.getByRole('button', { name, exact: true }).first();
        if ((await button.count()) === 0) continue;
        await c.act('valid', `${name.toLowerCase()} from the history`, async () => {
          await button.click();
          await page.locator('.toast').first().waitFor();
        });
      }
      // The kill switch last, and back off again, so routing ends as it began.
      for (const name of [/^Flip the kill switch/, /^Turn hybrid routing back on/]) {
        await c.open(url);
        const killSwitch = page.locator('section.kill-switch');
        const button = killSwitch.getByRole('button', { name });
        if ((await button.count()) === 0) continue;
        if (await button.isEnabled()) c.note('the kill switch can be flipped without ticking its confirmation');
        await c.act('valid', `kill switch: ${String(name).slice(2, -1)}`, async () => {
          await killSwitch.getByRole('checkbox').check();
          await button.click();
          await page.locator('.toast').first().waitFor();
        });
      }
    },

    '/costs': async (c, url) => {
      const { page } = c;
      const budget = page.locator('form.budget-form');
      if ((await budget.count()) > 0) {
        await c.act('invalid', 'set a negative budget', async () => {
          await c.submitWithoutBrowserChecks(budget);
          await budget.getByLabel(/Monthly budget/).fill('-5');
          await budget.getByRole('button', { name: 'Set budget' }).click();
        });
        await c.open(url);
        await c.act('valid', 'set the monthly budget', async () => {
          await budget.getByLabel(/Monthly budget/).fill('250');
          await budget.getByRole('button', { name: 'Set budget' }).click();
          await page.locator('.toast').first().waitFor();
        });
        await c.open(url);
      }
      await rangeRecipe(c, url);
    },

    '/latency': async (c, url) => rangeRecipe(c, url),

    '/learning': async (c, url) => rangeRecipe(c, url),

    '/worker': async (c, url) => {
      const { page } = c;
      const scale = page.getByRole('form', { name: 'Instances' });
      if ((await scale.count()) === 0) return;
      await c.act('invalid', 'scale the worker to -1 instances', async () => {
        await c.submitWithoutBrowserChecks(scale);
        await scale.getByLabel(/^Minimum instances/).fill('-1');
        await scale.getByRole('checkbox').check();
        await scale.getByRole('button', { name: 'Set instances' }).click();
      });
      await c.open(url);
      await c.act('valid', 'set the worker instances', async () => {
        await scale.getByRole('checkbox').check();
        await scale.getByRole('button', { name: 'Set instances' }).click();
        await page.locator('.toast').first().waitFor({ timeout: 60_000 });
      });
      await c.open(url);
      const split = page.getByRole('form', { name: 'Traffic split' });
      await c.act('invalid', 'split traffic 150%', async () => {
        await c.submitWithoutBrowserChecks(split);
        await split.locator('input[name="percent"]').first().fill('150');
        await split.getByRole('checkbox').check();
        await split.getByRole('button', { name: 'Apply split' }).click();
      });
      await c.open(url);
      await c.act('valid', 'apply the traffic split as it is', async () => {
        await split.getByRole('checkbox').check();
        await split.getByRole('button', { name: 'Apply split' }).click();
        await page.locator('.toast').first().waitFor({ timeout: 60_000 });
      });
      await c.open(url);
      const rollback = page.getByRole('form', { name: 'Roll back' });
      if ((await rollback.count()) > 0)
        await c.act('valid', 'roll the worker back', async () => {
          await rollback.getByRole('checkbox').check();
          await rollback.getByRole('button', { name: 'Roll back' }).click();
          await page.locator('.toast').first().waitFor({ timeout: 60_000 });
        });
    },

    '/admin/staff': async (c, url) => {
      const { page } = c;
      const add = page.locator('form', { has: page.getByRole('button', { name: 'Add staff member' }) });
      const email = `crawl-${c.combination.timeZone.length}-${Date.now()}@example.test`;
      const fill = async (address: string, password: string) => {
        await add.locator('input[name="email"]').fill(address);
        await add.locator('input[name="displayName"]').fill('Crawl Person');
        await add.locator('select[name="role"]').selectOption('content_manager');
        await add.locator('input[name="password"]').fill(password);
      };
      await c.act('invalid', 'add staff with a malformed email', async () => {
        await c.submitWithoutBrowserChecks(add);
        await fill('not-an-email', 'crawl-password-1234');
        await add.getByRole('button', { name: 'Add staff member' }).click();
      });
      await c.open(url);
      await c.act('invalid', 'add staff without a password (password sign-in: they could never sign in)', async () => {
        await c.submitWithoutBrowserChecks(add);
        await fill(`nopassword-${email}`, '');
        await add.getByRole('button', { name: 'Add staff member' }).click();
      });
      await c.open(url);
      await c.act('valid', 'add a staff member', async () => {
        await fill(email, 'crawl-password-1234');
        await add.getByRole('button', { name: 'Add staff member' }).click();
        await page.locator('.toast').first().waitFor();
      });
      await c.open(url);
      const row = page.locator('tr', { hasText: email });
      if ((await row.count()) === 0) return c.note(`the staff member just added (${email}) is not listed`);
      await c.act('valid', 'change a role', async () => {
        await row.getByLabel(`Role of ${email}`).selectOption('finance');
        await row.getByRole('button', { name: 'Save' }).click();
        await page.locator('.toast').first().waitFor();
      });
      for (const name of ['Disable', 'Enable']) {
        await c.open(url);
        await c.act('valid', `${name.toLowerCase()} a staff member`, async () => {
          await openDisclosures(row);
          await row
            .getByRole('button', { name: new RegExp(`^${name}`) })
            .last()
            .click();
          await page.locator('.toast').first().waitFor();
        });
      }
    },

    '/admin/tokens': async (c, url) => {
      const { page } = c;
      const create = page.locator('form', { has: page.getByRole('button', { name: 'Create token' }) });
      await c.act('invalid', 'create a token with no scope', async () => {
        await create.getByLabel('Name').fill('Crawl token without scopes');
        for (const scope of await create.getByRole('checkbox').all()) await scope.uncheck();
        await create.getByRole('button', { name: 'Create token' }).click();
      });
      await c.open(url);
      const name = `Crawl token ${Date.now()}`;
      await c.act('valid', 'create a token', async () => {
        await create.getByLabel('Name').fill(name);
        await create.getByRole('button', { name: 'Create token' }).click();
        await page.getByTestId('new-token').waitFor();
      });
      if ((await create.getByLabel('Name').inputValue()) !== '')
        c.note('the token form keeps its values after creating a token: a second click creates a duplicate (item 9)');
      const row = page.locator('tr', { hasText: name });
      const direct = row.locator('button[type="submit"]:visible');
      const dialogsBefore = c.watch.dialogs;
      await c.act('valid', 'revoke the token', async () => {
        const answers = c.watch.responses.length;
        if ((await direct.count()) > 0) {
          await direct.first().click();
          await waitForIdle(page, c.watch);
          if (c.watch.responses.length > answers && c.watch.dialogs === dialogsBefore)
            c.note('"Revoke" revokes at the first click, with no confirmation (item 9)');
        }
        if ((await row.getByText('revoked', { exact: true }).count()) === 0) {
          await openDisclosures(row);
          await row.locator('button[type="submit"]:visible').first().click();
        }
        await row.getByText('revoked', { exact: true }).waitFor();
      });
    },
  };

  async function rangeRecipe(c: Crawler, url: string) {
    const { page } = c;
    for (const panel of await page.locator('.chart-panel').all()) {
      if (!(await panel.locator('.empty').isVisible())) continue;
      const title = await panel.locator('h2').innerText();
      await panel.getByRole('button', { name: 'Table' }).click();
      const values = await panel.locator('tbody td.num').allInnerTexts();
      if (values.some((value) => /[1-9]/.test(value)))
        c.note(`chart "${title}" says there is nothing to draw while its table view lists values (item 5)`);
      await panel.getByRole('button', { name: 'Chart' }).click();
    }
    const range = page.getByRole('form', { name: 'Date range' });
    await c.act('valid', 'show a date range', async () => {
      const today = new Date().toISOString().slice(0, 10);
      await range.getByLabel('From').fill(today);
      await range.getByLabel('To').fill(today);
      await range.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL(/from=/);
    });
    await c.open(url);
    await c.act('unusual', 'show a range that ends before it starts', async () => {
      await range.getByLabel('From').fill('2026-03-10');
      await range.getByLabel('To').fill('2026-03-01');
      await range.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL(/from=/);
    });
  }

  /** Opens closed disclosures (a two-step confirmation) inside a scope. */
  async function openDisclosures(scope: Locator) {
    for (const summary of await scope.locator('details:not([open]) > summary').all()) await summary.click();
  }

  async function messageOf(response: Response): Promise<string> {
    try {
      const text = await response.text();
      try {
        const body = JSON.parse(text) as { message?: string; error?: string };
        return body.message ?? body.error ?? text.slice(0, 200);
      } catch {
        return text.slice(0, 200);
      }
    } catch {
      return '(body unavailable)';
    }
  }
});
