import { inject } from 'vitest';

import { cloudRunCostMicros, DEFAULT_PRICES, pricesFrom } from '../../app/domain/prices';
import { reapExpiredLeases, submitJob } from '../../app/server/queue.server';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-stand-in';
import { freePort, runEntry } from '../support/app-process';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { jobRow, newJob, seededChapterIds } from '../support/fixtures';

/**
 * Real worker processes (`npm run worker`) against one PostgreSQL: several claimers at once, a
 * worker killed with SIGKILL mid-stream, and Cloud Run's SIGTERM. PGlite is a single in-process
 * connection, so these run on PostgreSQL only.
 */
const postgres = databaseTargets().find((target) => target.name === 'postgres');

describe.skipIf(!inject('postgresTemplateUrl'))('worker processes on PostgreSQL', () => {
  let anthropic: AnthropicStandIn;
  let test_: TestDatabase;
  let chapters: string[];
  const workers: ReturnType<typeof runEntry>[] = [];

  beforeAll(async () => {
    anthropic = await startAnthropicStandIn();
  });
  afterAll(() => anthropic.close());
  beforeEach(async () => {
    anthropic.reset();
    test_ = await postgres!.create();
    chapters = await seededChapterIds(test_.db);
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await test_.drop();
  });

  async function startWorker(extra: Record<string, string> = {}) {
    const worker = runEntry('worker/main.ts', {
      DATABASE_URL: test_.url!,
      PORT: String(await freePort()),
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_BASE_URL: anthropic.url,
      WORKER_LEASE_SECONDS: '5',
      ...extra,
    });
    workers.push(worker);
    await expect.poll(() => worker.output().includes('worker listening'), { timeout: 15_000 }).toBe(true);
    return worker;
  }

  it('runs a 100-job batch with 4 worker processes, each job exactly once', async () => {
    anthropic.setDefault({ text: ['# Ch\n', 'one ', 'two'], delayMs: 5 });
    await Promise.all([startWorker(), startWorker(), startWorker(), startWorker()]);
    for (let i = 0; i < 100; i += 1) await submitJob(test_.db, newJob(chapters[i % chapters.length]));
    await expect
      .poll(
        async () =>
          (
            await test_.db.query<{ n: number }>(
              `select count(*) as n from public.chapter_content_jobs where status = 'succeeded'`,
            )
          )[0].n,
        {
          timeout: 30_000,
          interval: 200,
        },
      )
      .toBe(100);
    const [{ versions, claims, owners }] = await test_.db.query<{ versions: number; claims: number; owners: number }>(
      `select (select count(*) from public.chapter_versions) as versions,
              (select count(*) from public.job_events where to_status = 'running') as claims,
              (select count(distinct detail ->> 'worker') from public.job_events where to_status = 'succeeded') as owners`,
    );
    expect({ versions, claims }).toEqual({ versions: 100, claims: 100 });
    expect(anthropic.requests).toHaveLength(100);
    expect(owners).toBeGreaterThan(1);
  });

  it('reclaims the job of a worker killed mid-stream once its lease expires, writing one chapter version', async () => {
    anthropic.enqueue({ text: Array.from({ length: 200 }, (_, i) => `p${i} `), delayMs: 50 });
    const doomed = await startWorker();
    const { jobId } = await submitJob(test_.db, newJob(chapters[0]));
    await expect
      .poll(async () => (await jobRow(test_.db, jobId)).progress_output_tokens, { timeout: 10_000 })
      .toBeGreaterThan(0);
    doomed.child.kill('SIGKILL');
    await doomed.exited;

    await startWorker();
    // The sweeper's job: after the 5 s lease, the job goes back to the queue and a worker takes it.
    await expect
      .poll(async () => (await reapExpiredLeases(test_.db)).length, { timeout: 10_000, interval: 500 })
      .toBe(1);
    await expect.poll(async () => (await jobRow(test_.db, jobId)).status, { timeout: 15_000 }).toBe('succeeded');
    const job = await jobRow(test_.db, jobId);
    expect(job.attempts).toBe(2);
    const versions = await test_.db.query('select 1 from public.chapter_versions where job_id = $1', [jobId]);
    expect(versions).toHaveLength(1);
  });

  it('on SIGTERM gives its running job back to the queue and exits within 10 s', async () => {
    anthropic.enqueue({ text: Array.from({ length: 400 }, (_, i) => `p${i} `), delayMs: 50 });
    const worker = await startWorker();
    const { jobId } = await submitJob(test_.db, newJob(chapters[0]));
    await expect.poll(async () => (await jobRow(test_.db, jobId)).status, { timeout: 10_000 }).toBe('running');
    const signalledAt = Date.now();
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(await jobRow(test_.db, jobId)).toMatchObject({ status: 'pending', attempts: 0, lease_owner: null });
    expect(anthropic.requests[0].clientClosedAt).not.toBeNull();
  });

  it('prices its jobs with PRICES_OVERRIDE, as the app does', async () => {
    anthropic.setDefault({ text: ['# Ch\n', 'priced'], delayMs: 20 });
    const override = { cloudRun: { usdPerVcpuSecond: 1, usdPerGibSecond: 1 } };
    await startWorker({ PRICES_OVERRIDE: JSON.stringify(override) });
    const { jobId } = await submitJob(test_.db, newJob(chapters[0]));
    await expect.poll(async () => (await jobRow(test_.db, jobId)).status, { timeout: 15_000 }).toBe('succeeded');
    const job = await jobRow(test_.db, jobId);
    const busyMs = job.busy_ms as number;
    expect(busyMs).toBeGreaterThan(0);
    // busy_ms is stored rounded to the millisecond; the cost was computed before rounding.
    const priced = pricesFrom(override);
    expect(job.cost_cloud_run_micros).toBeGreaterThanOrEqual(cloudRunCostMicros(priced, busyMs - 1));
    expect(job.cost_cloud_run_micros).toBeLessThanOrEqual(cloudRunCostMicros(priced, busyMs + 1));
    expect(cloudRunCostMicros(DEFAULT_PRICES, busyMs + 1)).toBeLessThan(cloudRunCostMicros(priced, busyMs - 1));
  });
});
