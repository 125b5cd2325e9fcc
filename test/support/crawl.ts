import path from 'node:path';

import type { Browser, BrowserContext, Locator, Page, Response } from 'playwright-core';

import type { Role } from '../../app/domain/permissions';
import { demoEmail, DEMO_PASSWORD } from '../../app/server/auth/bootstrap.server';

/**
 * The pieces of the browser crawl (test/e2e/crawl.browser.test.ts): one combination of role,
 * time zone and viewport; what the crawl watches on every page (console, page errors, failed
 * requests, 5xx, width); and the findings it reports once, as a readable list.
 */

export const TIME_ZONES = ['UTC', 'America/Los_Angeles'] as const;
export const WIDTHS = [1440, 390] as const;
export type TimeZone = (typeof TIME_ZONES)[number];
export type Width = (typeof WIDTHS)[number];

export interface Combination {
  role: Role;
  timeZone: TimeZone;
  width: Width;
}

export const describeCombination = ({ role, timeZone, width }: Combination) => `${role} ${timeZone} ${width}px`;

/**
 * The browser's clock runs this far ahead of the server's, as on a laptop whose clock has
 * drifted: anything rendered from "now" on the server and again in the browser during
 * hydration (an "N s ago") then differs every time, not only when a second ticks over.
 */
export const BROWSER_CLOCK_SKEW_MS = 90_000;

export interface Finding {
  combination: string;
  url: string;
  what: string;
}

/** Every problem the crawl meets, kept (deduplicated) until the end and reported as one list. */
export class Findings {
  readonly list: Finding[] = [];
  private readonly seen = new Set<string>();

  add(combination: Combination, url: string, what: string) {
    const finding = { combination: describeCombination(combination), url: shortUrl(url), what: what.trim() };
    const key = `${finding.combination}|${routePattern(url)}|${finding.what}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(finding);
  }

  forRole(role: Role) {
    return this.list.filter((finding) => finding.combination.startsWith(`${role} `));
  }

  /**
   * One line per problem and page pattern, naming every combination it was seen in and one
   * address where it happened: what the lead needs to find and fix it.
   */
  static report(findings: Finding[]): string {
    if (findings.length === 0) return 'no findings';
    const groups = new Map<string, { what: string; page: string; url: string; combinations: string[] }>();
    for (const finding of findings) {
      const page = routePattern(finding.url);
      const key = `${page}|${finding.what}`;
      const group = groups.get(key) ?? { what: finding.what, page, url: finding.url, combinations: [] };
      group.combinations.push(finding.combination);
      groups.set(key, group);
    }
    return [
      `${groups.size} problem(s) found by the crawl (page pattern | what | where seen):`,
      ...[...groups.values()].map(
        (group, i) =>
          `${i + 1}. ${group.page} | ${group.what} | ${group.combinations.join(', ')}${group.url !== group.page ? ` (e.g. ${group.url})` : ''}`,
      ),
    ].join('\n');
  }
}

export function shortUrl(url: string) {
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `/jobs/3f…?after=…&status=x` → `/jobs/:id?after&status`: one page per pattern keeps the crawl bounded. */
export function routePattern(url: string) {
  const parsed = new URL(url, 'http://crawl.invalid');
  const pathname = parsed.pathname
    .split('/')
    .map((segment) => (ID.test(segment) ? ':id' : segment))
    .join('/');
  const keys = [...new Set(parsed.searchParams.keys())].filter((key) => key !== '_data').sort();
  return keys.length ? `${pathname}?${keys.join('&')}` : pathname;
}

/**
 * React's production messages for hydration mismatches (https://react.dev/errors/418, 423, 425):
 * the server's HTML and the browser's first render differ, typically a time or number formatted
 * with the browser's time zone or clock. One canonical line per code, so the page error and the
 * console line React logs for it count once.
 */
function hydrationError(message: string): string | null {
  const code = /Minified React error #(418|423|425)/.exec(message)?.[1];
  if (code) return `hydration error: React #${code} (server HTML and the browser's first render differ)`;
  return /Hydration failed|did not match/i.test(message) ? `hydration error: ${oneLine(message)}` : null;
}

/** First line of a message, whitespace collapsed and bounded, so a finding stays one readable line. */
export function oneLine(text: string, max = 300) {
  const line = text.split('\n')[0].replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** A browser context for one combination, with every page in it watched. */
export async function openCombination(
  browser: Browser,
  combination: Combination,
  findings: Findings,
  watch: Watch,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: combination.width, height: 900 },
    timezoneId: combination.timeZone,
    locale: 'en-US',
    acceptDownloads: true,
  });
  await context.clock.install({ time: Date.now() + BROWSER_CLOCK_SKEW_MS });
  const page = await context.newPage();
  page.on('dialog', (dialog) => {
    watch.dialogs += 1;
    void dialog.accept();
  });
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    // The browser's own line for a 4xx/5xx answer: the response listener reports those precisely.
    if (text.startsWith('Failed to load resource')) return;
    const where = message.location().url;
    findings.add(
      combination,
      page.url(),
      hydrationError(text) ??
        `console error: ${oneLine(text)}${where && !text.includes(where) ? ` (at ${shortUrl(where)})` : ''}`,
    );
  });
  page.on('pageerror', (error) =>
    findings.add(combination, page.url(), hydrationError(error.message) ?? `page error: ${oneLine(error.message)}`),
  );
  page.on('requestfailed', (request) => {
    const failure = request.failure()?.errorText ?? 'failed';
    // Leaving a page aborts what it still had open (the live-update stream, prefetches): not a fault.
    if (failure === 'net::ERR_ABORTED') return;
    findings.add(
      combination,
      page.url(),
      `request failed: ${request.method()} ${shortUrl(request.url())} (${failure})`,
    );
  });
  page.on('request', (request) => {
    if (!isStream(request.url())) watch.inflight.add(request.url() + request.method());
  });
  const settled = (url: string, method: string) => watch.inflight.delete(url + method);
  page.on('requestfinished', (request) => settled(request.url(), request.method()));
  page.on('requestfailed', (request) => settled(request.url(), request.method()));
  page.on('response', (response) => {
    const status = response.status();
    const request = response.request();
    if (status >= 500)
      findings.add(combination, page.url(), `${status} from ${request.method()} ${shortUrl(response.url())}`);
    else if (status >= 400 && !watch.expecting4xx && request.method() === 'GET')
      findings.add(combination, page.url(), `${status} from GET ${shortUrl(response.url())}`);
    if (isSubmissionAnswer(response)) watch.responses.push(response);
  });
  return { context, page };
}

/** State the crawl shares with the page listeners while it acts. */
export class Watch {
  /** Set while the crawl submits input it knows is wrong: a 4xx is then the right answer. */
  expecting4xx = false;
  /** Native dialogs (confirm, alert) seen and accepted. */
  dialogs = 0;
  /** Action and loader-data answers, newest last. */
  responses: Response[] = [];
  /** Requests under way (the live-update stream excepted: it stays open by design). */
  inflight = new Set<string>();
}

/** An action's answer or a loader-data fetch (what a Remix form submission or navigation gets). */
export const isSubmissionAnswer = (response: Response) =>
  response.request().method() === 'POST' || response.url().includes('_data=');

/** The live-update stream (Server-Sent Events) never finishes while a page is open. */
const isStream = (url: string) => new URL(url).pathname === '/live';

/** Waits until React has hydrated the page (or rendered it on the client after a failed hydration). */
export async function waitForHydration(page: Page, timeoutMs = 30_000) {
  await page.waitForFunction(
    () => {
      const main = document.querySelector('main');
      return main !== null && Object.keys(main).some((key) => key.startsWith('__reactFiber'));
    },
    undefined,
    { timeout: timeoutMs },
  );
}

/**
 * Waits until no Remix navigation, submission or revalidation is under way and no request is in
 * flight, seen twice in a row (a click's fetch starts a moment after the click).
 */
export async function waitForIdle(page: Page, watch: Watch) {
  const deadline = Date.now() + 60_000;
  let quietChecks = 0;
  while (quietChecks < 2) {
    if (Date.now() > deadline) throw new Error(`the page did not settle: ${[...watch.inflight].join(', ')}`);
    const busy =
      watch.inflight.size > 0 ||
      (await page.evaluate(() => document.querySelector('.loading-bar.active') !== null).catch(() => true));
    quietChecks = busy ? 0 : quietChecks + 1;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The error a page shows in place of its content (a route's error boundary), if any. */
export async function errorBoundaryText(page: Page): Promise<string | null> {
  const boundary = page.locator('.error-panel[role="alert"]');
  if ((await boundary.count()) === 0) return null;
  return (await boundary.first().innerText()).replace(/\s+/g, ' ').slice(0, 300);
}

/** What a user sees as an error after acting: toasts, field errors, alerts. */
export async function visibleErrors(page: Page): Promise<string[]> {
  const errors = page.locator('.toast-error, .field-error, .form-error, [role="alert"]');
  const texts: string[] = [];
  for (const error of await errors.all()) {
    if (!(await error.isVisible())) continue;
    const text = (await error.innerText()).replace(/\s+/g, ' ').trim();
    if (text) texts.push(text.slice(0, 200));
  }
  return texts;
}

/**
 * The width checks: the document must not be wider than the viewport, and at desktop widths no
 * card may need sideways scrolling (tables that opt into it with `.table-scroll` excepted).
 */
export async function layoutProblems(page: Page, width: Width): Promise<string[]> {
  return page.evaluate((desktop) => {
    const problems: string[] = [];
    const viewport = window.innerWidth;
    const describe = (element: Element) => {
      const id = element.id ? `#${element.id}` : '';
      const classes =
        typeof element.className === 'string' && element.className
          ? `.${element.className.trim().split(/\s+/).join('.')}`
          : '';
      const heading = element.closest('section')?.querySelector('h1, h2')?.textContent?.trim();
      return `${element.tagName.toLowerCase()}${id}${classes}${heading ? ` in "${heading}"` : ''}`;
    };
    const documentWidth = document.documentElement.scrollWidth;
    if (documentWidth > viewport + 1) {
      // Name the outermost elements that stick out, so the report says what to fix.
      const culprits: string[] = [];
      for (const element of document.body.querySelectorAll('*')) {
        const right = element.getBoundingClientRect().right;
        const parent = element.parentElement;
        if (right > viewport + 1 && parent && parent.getBoundingClientRect().right <= viewport + 1)
          culprits.push(`${describe(element)} (right edge ${Math.round(right)} px)`);
        if (culprits.length >= 4) break;
      }
      problems.push(
        `page is ${documentWidth} px wide in a ${viewport} px viewport (scrolls sideways): ${culprits.join('; ') || 'no single element'}`,
      );
    }
    for (const card of document.querySelectorAll('.panel')) {
      const overflow = card.scrollWidth - card.clientWidth;
      if (overflow <= 1) continue;
      const scrolls = getComputedStyle(card).overflowX !== 'visible';
      if (!scrolls) problems.push(`${describe(card)}: content is ${overflow} px wider than its card`);
      else if (desktop) problems.push(`${describe(card)}: needs sideways scrolling at desktop width (${overflow} px)`);
    }
    return problems;
  }, width >= 1024);
}

/**
 * Charts a person can read: every drawn chart names its y-axis unit, and config-change markers
 * never print their labels on top of each other.
 */
export async function chartProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    for (const panel of document.querySelectorAll('.chart-panel')) {
      const title = panel.querySelector('h2')?.textContent?.trim() ?? 'a chart';
      if (!panel.querySelector('.recharts-wrapper')) continue;
      // Recharts 3 draws axis labels in their own layer, outside the axis group: an axis label
      // is the rotated one.
      const yLabel = panel
        .querySelector('.recharts-yAxis .recharts-label, .recharts-label[transform*="rotate(-90"]')
        ?.textContent?.trim();
      if (!yLabel) problems.push(`chart "${title}": its y-axis has no unit (item 5)`);
      const labels = [...panel.querySelectorAll('.recharts-reference-line text')]
        .filter((label) => label.textContent?.trim())
        .map((label) => label.getBoundingClientRect());
      const overlapping = labels.some((a, i) =>
        labels.slice(i + 1).some((b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom),
      );
      if (overlapping)
        problems.push(`chart "${title}": config-change marker labels print on top of each other (item 5)`);
    }
    return problems;
  });
}

export async function screenshot(page: Page, directory: string, combination: Combination, url: string) {
  const slug =
    routePattern(url)
      .replace(/[^a-z0-9]+/gi, '-')
      .replace(/^-|-$/g, '') || 'overview';
  const file = `${combination.role}-${combination.timeZone.replace('/', '-')}-${combination.width}-${slug}.png`;
  await page.screenshot({ path: path.join(directory, file), fullPage: true });
}

/** Signs in through the sign-in form, as a person would. */
export async function signIn(page: Page, baseUrl: string, role: Role) {
  if (!new URL(page.url(), baseUrl).pathname.startsWith('/sign-in')) await page.goto(`${baseUrl}/sign-in`);
  await waitForHydration(page);
  await page.getByLabel('Email').fill(demoEmail(role));
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'), { timeout: 60_000 });
  await waitForHydration(page);
}

/** Same-origin links a person can see on the page, with their targets resolved. */
export async function visibleLinks(page: Page, baseUrl: string): Promise<{ href: string; text: string }[]> {
  const links = await page.locator('a[href]').evaluateAll((anchors) =>
    anchors
      .filter((anchor) => (anchor as HTMLElement).offsetParent !== null || anchor.getClientRects().length > 0)
      .map((anchor) => ({
        href: (anchor as HTMLAnchorElement).href,
        text: (anchor.textContent ?? '').replace(/\s+/g, ' ').trim(),
        download: anchor.hasAttribute('download'),
      })),
  );
  const origin = new URL(baseUrl).origin;
  return links
    .filter((link) => new URL(link.href).origin === origin && !link.download)
    .map(({ href, text }) => ({ href, text }));
}

export async function downloadLinks(page: Page): Promise<Locator[]> {
  return page.locator('a[download]').all();
}
