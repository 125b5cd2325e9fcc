/**
 * npm run bench:live — from a job's status change committed in the database to that change in
 * the browser's DOM (Chromium, the Jobs page, live updates over SSE fed by the app's cursor over
 * job_events, then the page's loader revalidating). Target: p95 ≤ 100 ms.
 */
import { launchChromium } from '../support/chromium';

import { demoEmail } from '../../app/server/auth/bootstrap.server';
import { cancelJob, submitJob } from '../../app/server/queue.server';
import { createStaff } from '../../app/server/services/staff.server';
import { startApp } from '../support/app-process';
import { fmt, freshDatabase, manyChapters, percentile } from './support';

const CHANGES = 40;

async function main() {
  const { db, url } = await freshDatabase('switchyard_bench_live', 4);
  const chapters = await manyChapters(db, 100);
  await createStaff(db, 'system', {
    email: demoEmail('content_manager'),
    displayName: 'CM',
    role: 'content_manager',
    password: 'bench-password-123',
  });
  const ids: string[] = [];
  for (let i = 0; i < CHANGES; i += 1)
    ids.push(
      (await submitJob(db, { chapterId: chapters[i], model: 'claude-haiku-5-5', maxTokens: 100, createdBy: 'bench' }))
        .jobId,
    );

  const app = await startApp({ DATABASE_URL: url, EMBEDDED_WORKER: 'false' });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${app.url}/sign-in`);
    await page.getByLabel('Email').fill(demoEmail('content_manager'));
    await page.getByLabel('Password').fill('bench-password-123');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.goto(`${app.url}/jobs`);
    await page.locator('tr[data-job-id]').first().waitFor();
    await page.waitForTimeout(500); // the EventSource connects

    const latencies: number[] = [];
    for (const id of ids) {
      // A string, not a function: tsx's transform would add helpers the page does not have.
      const seen = page.evaluate<number>(`new Promise((resolve) => {
        const done = () => document.querySelector('tr[data-job-id="${id}"][data-status="cancelled"]');
        const observer = new MutationObserver(() => {
          if (done()) { observer.disconnect(); resolve(Date.now()); }
        });
        observer.observe(document.body, { subtree: true, childList: true, attributes: true });
      })`);
      await page.waitForTimeout(20);
      const changedAt = Date.now();
      await cancelJob(db, id, 'bench');
      latencies.push((await seen) - changedAt);
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `bench:live  changes=${CHANGES} (PostgreSQL → job_events cursor → SSE → revalidate → DOM, headless Chromium)`,
    );
    console.log(`  p50  ${fmt(percentile(latencies, 50), 0)} ms`);
    console.log(`  p95  ${fmt(percentile(latencies, 95), 0)} ms  (target ≤ 100)`);
    console.log(`  max  ${fmt(latencies[latencies.length - 1], 0)} ms`);
  } finally {
    await browser.close();
    await app.stop();
    await db.close();
  }
}

void main();
