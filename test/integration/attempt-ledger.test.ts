import { GenerationError, type ChapterGenerator, type TokenUsage } from '../../app/domain/generation';
import { DEFAULT_PRICES, knownModels, type PriceTable } from '../../app/domain/prices';
import { executeJob } from '../../app/server/job-execution.server';
import { silentLogger } from '../../app/server/log.server';
import { presentCosts } from '../../app/server/presenters/analytics.server';
import {
  appendProgress,
  bookLostAttempt,
  cancelJobs,
  claimJob,
  claimJobs,
  completeJob,
  failJob,
  reapExpiredLeases,
  releaseJob,
  retryJobs,
  submitJob,
  type AttemptUsage,
} from '../../app/server/queue.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { newJob, seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

/** A priced attempt's usage with distinct figures, so a double count or a lost attempt shows. */
function usage(n: number): AttemptUsage {
  return {
    generator: 'anthropic',
    inputTokens: 100 * n,
    outputTokens: 1000 * n,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    cacheReadTokens: 10 * n,
    busyMs: 50 * n,
    costMicros: { input: 11 * n, output: 1_003 * n, cacheWrite: 0, cacheRead: 1 * n, cloudRun: 7 * n, vercel: 0 },
  };
}
const costOf = (n: number) => (11 + 1_003 + 1 + 7) * n;

function monthRange() {
  const now = new Date();
  return {
    from: new Date(now.getTime() - 29 * 86_400_000).toISOString().slice(0, 10),
    to: now.toISOString().slice(0, 10),
  };
}

describe.each(databaseTargets())('the attempt ledger on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let chapters: string[];

  beforeEach(async () => {
    test_ = await target.create();
    app = await createTestApp(test_.db);
    chapters = await seededChapterIds(test_.db);
  });
  afterEach(() => test_.drop());

  const ledger = async (jobId: string) =>
    test_.db.query<{ attempt: number; outcome: string | null; cost_total_micros: number; worker: string }>(
      'select attempt, outcome, cost_total_micros, worker from public.job_attempts where job_id = $1 order by attempt',
      [jobId],
    );

  /**
   * What finance relies on: after the sweeper's refresh, the jobs' totals, the chart, its CSV
   * and the month to date all equal the sum of the attempts, to the micro-dollar.
   */
  async function expectEveryTotalToEqualTheLedger(expected: number) {
    await test_.db.query(`select public.refresh_job_rollups(((now() at time zone 'utc')::date - 1))`);
    const [sums] = await test_.db.query<{ attempts: number; jobs: number; open: number; month: number }>(
      `select (select coalesce(sum(cost_total_micros), 0) from public.job_attempts) as attempts,
              (select coalesce(sum(cost_total_micros), 0) from public.chapter_content_jobs) as jobs,
              (select count(*) from public.job_attempts where ended_at is null) as open,
              (select coalesce(sum(cost_total_micros), 0) from public.job_attempts
                where started_at >= date_trunc('month', now() at time zone 'utc') at time zone 'utc') as month`,
    );
    expect(Number(sums.open)).toBe(0);
    expect(Number(sums.attempts)).toBe(expected);
    expect(Number(sums.jobs)).toBe(expected);

    const range = monthRange();
    const costs = await presentCosts(test_.db, range);
    expect(costs.totalMicros).toBe(expected);
    expect(costs.month.spentMicros).toBe(Number(sums.month));

    const finance = await app.staffSession('finance');
    const csv = await (
      await app.request(`/costs/csv?chart=daily&from=${range.from}&to=${range.to}`, { cookie: finance.cookie })
    ).text();
    const csvTotal = csv
      .trim()
      .split('\n')
      .slice(1)
      .reduce((sum, line) => sum + Math.round(Number(line.split(',')[7]) * 1_000_000), 0);
    expect(csvTotal).toBe(expected);
  }

  it('counts a job retried days after it failed once per attempt, each on its own day', async () => {
    const { jobId } = await submitJob(test_.db, newJob(chapters[0], { maxRetries: 0 }));
    await claimJobs(test_.db, 'w1', 30);
    expect(
      await failJob(test_.db, jobId, 'w1', {
        code: 'overloaded_error',
        message: 'x',
        retryable: true,
        usage: usage(1),
      }),
    ).toBe('failed');
    // The failure was three days ago, and its day's rollup is frozen.
    await test_.db.query(
      `update public.job_attempts set started_at = started_at - interval '3 days', ended_at = ended_at - interval '3 days'`,
    );
    await test_.db.query(
      `update public.chapter_content_jobs set started_at = started_at - interval '3 days',
         finished_at = finished_at - interval '3 days', created_at = created_at - interval '3 days',
         requested_at = requested_at - interval '3 days', queued_at = queued_at - interval '3 days'`,
    );
    await test_.db.query(`select public.refresh_job_rollups(((now() at time zone 'utc')::date - 4))`);

    await retryJobs(test_.db, [jobId], 'cm@example.com');
    await claimJobs(test_.db, 'w2', 30);
    expect(
      await completeJob(test_.db, jobId, 'w2', { content: '# Done', stopReason: 'end_turn', usage: usage(2) }),
    ).toBe(true);

    expect(await ledger(jobId)).toMatchObject([
      { attempt: 1, outcome: 'failed', cost_total_micros: costOf(1), worker: 'w1' },
      { attempt: 2, outcome: 'succeeded', cost_total_micros: costOf(2), worker: 'w2' },
    ]);
    await expectEveryTotalToEqualTheLedger(costOf(3));
    const costs = await presentCosts(test_.db, monthRange());
    const day = (offset: number) => new Date(Date.now() - offset * 86_400_000).toISOString().slice(0, 10);
    expect(costs.points.find((point) => point.bucket === day(3))?.total).toBe(costOf(1));
    expect(costs.points.find((point) => point.bucket === day(0))?.total).toBe(costOf(2));
  });

  it('books released, cancelled and reaped attempts once, and a lost lease books its own usage', async () => {
    // Released (a worker shutting down), then completed elsewhere.
    const released = (await submitJob(test_.db, newJob(chapters[0]))).jobId;
    await claimJobs(test_.db, 'w1', 30);
    expect(await releaseJob(test_.db, released, 'w1', usage(1))).toBe('pending');
    await claimJobs(test_.db, 'w2', 30);
    await completeJob(test_.db, released, 'w2', { content: '# A', stopReason: 'end_turn', usage: usage(2) });
    expect((await ledger(released)).map((row) => row.outcome)).toEqual(['released', 'succeeded']);

    // Cancelled while running: the aborted stream's tokens are still spent.
    const cancelled = (await submitJob(test_.db, newJob(chapters[1]))).jobId;
    await claimJobs(test_.db, 'w1', 30);
    await cancelJobs(test_.db, [cancelled], 'cm@example.com');
    expect(
      await failJob(test_.db, cancelled, 'w1', { code: 'aborted', message: 'a', retryable: false, usage: usage(3) }),
    ).toBe('cancelled');
    // Cancelled before it ran: no attempt, nothing spent.
    const never = (await submitJob(test_.db, newJob(chapters[2]))).jobId;
    await cancelJobs(test_.db, [never], 'cm@example.com');
    expect(await ledger(never)).toEqual([]);

    // A worker that dies: the reaper books what its progress writes recorded.
    const dead = (await submitJob(test_.db, newJob(chapters[3]))).jobId;
    await claimJobs(test_.db, 'w1', 30);
    expect(
      await appendProgress(test_.db, {
        jobId: dead,
        workerId: 'w1',
        attempt: 1,
        offset: 0,
        text: 'partial',
        outputTokens: 4000,
        usage: usage(4),
      }),
    ).toBe(true);
    await test_.db.query(
      `update public.chapter_content_jobs set lease_expires_at = now() - interval '1 second' where id = $1`,
      [dead],
    );
    await reapExpiredLeases(test_.db);
    expect(await ledger(dead)).toMatchObject([{ attempt: 1, outcome: 'reaped', cost_total_micros: costOf(4) }]);
    // That worker was only paused: it ends later and books everything its stream served.
    expect(await bookLostAttempt(test_.db, dead, 'w1', usage(5))).toBe(true);
    expect(await bookLostAttempt(test_.db, dead, 'w9', usage(5))).toBe(false);
    await test_.db.query(`update public.chapter_content_jobs set run_after = now() where id = $1`, [dead]);
    await claimJobs(test_.db, 'w2', 30);
    await completeJob(test_.db, dead, 'w2', { content: '# D', stopReason: 'end_turn', usage: usage(6) });
    expect(await ledger(dead)).toMatchObject([
      { attempt: 1, outcome: 'reaped', cost_total_micros: costOf(5) },
      { attempt: 2, outcome: 'succeeded', cost_total_micros: costOf(6) },
    ]);

    await expectEveryTotalToEqualTheLedger(costOf(1 + 2 + 3 + 5 + 6));
  });

  it('books an edge attempt that timed out with the tokens its stream reported', async () => {
    const reported: TokenUsage = {
      inputTokens: 1_200,
      outputTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      cacheReadTokens: 300,
    };
    const hanging: ChapterGenerator = {
      name: 'anthropic',
      generate: (_request, hooks) =>
        new Promise((_resolve, reject) => {
          hooks.onProgress('', 0, reported);
          hooks.signal.addEventListener('abort', () =>
            reject(new GenerationError('Generation aborted.', 'aborted', false, { ...reported, outputTokens: 40 })),
          );
        }),
    };
    const { jobId } = await submitJob(test_.db, newJob(chapters[0], { destination: 'edge', maxRetries: 0 }));
    const job = (await claimJob(test_.db, jobId, 'edge-1', 60))!;
    const control: { abort: AbortController; reason?: 'timeout' } = { abort: new AbortController() };
    // While it streams, the input and cache tokens are in its attempt already.
    const running = executeJob({
      db: test_.db,
      job,
      generator: hanging,
      workerId: 'edge-1',
      leaseSeconds: 60,
      prices: DEFAULT_PRICES,
      control,
      log: silentLogger,
    });
    await expect
      .poll(
        async () =>
          (await test_.db.query<{ input_tokens: number }>('select input_tokens from public.job_attempts'))[0]
            ?.input_tokens,
      )
      .toBe(1_200);
    control.reason = 'timeout';
    control.abort.abort();
    expect((await running).outcome).toBe('failed');

    const [attempt] = await test_.db.query<{
      outcome: string;
      error_code: string;
      output_tokens: number;
      cost_total_micros: number;
      cost_vercel_micros: number;
    }>('select outcome, error_code, output_tokens, cost_total_micros, cost_vercel_micros from public.job_attempts');
    expect(attempt).toMatchObject({ outcome: 'failed', error_code: 'timeout', output_tokens: 40 });
    // Haiku: 1,200 input at $0.10/M, 40 output at $0.50/M, 300 cache reads at $0.01/M, plus the function.
    expect(Number(attempt.cost_total_micros) - Number(attempt.cost_vercel_micros)).toBe(120 + 20 + 3);
    expect(Number(attempt.cost_vercel_micros)).toBeGreaterThan(0);
    await expectEveryTotalToEqualTheLedger(Number(attempt.cost_total_micros));
  });

  it('a worker whose lease was taken over books what its stream served when it ends', async () => {
    const reported: TokenUsage = {
      inputTokens: 2_000,
      outputTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      cacheReadTokens: 0,
    };
    const hanging: ChapterGenerator = {
      name: 'anthropic',
      generate: (_request, hooks) =>
        new Promise((_resolve, reject) => {
          hooks.onProgress('', 0, reported);
          hooks.signal.addEventListener('abort', () =>
            reject(new GenerationError('Generation aborted.', 'aborted', false, { ...reported, outputTokens: 500 })),
          );
        }),
    };
    const { jobId } = await submitJob(test_.db, newJob(chapters[0]));
    const [job] = await claimJobs(test_.db, 'paused-worker', 30);
    const control: { abort: AbortController; reason?: 'lease_lost' } = { abort: new AbortController() };
    const running = executeJob({
      db: test_.db,
      job,
      generator: hanging,
      workerId: 'paused-worker',
      leaseSeconds: 30,
      prices: DEFAULT_PRICES,
      control,
      log: silentLogger,
    });
    await expect
      .poll(
        async () => (await test_.db.query<{ n: number }>('select input_tokens as n from public.job_attempts'))[0]?.n,
      )
      .toBe(2_000);
    // The worker stalls; its lease expires and the reaper books what it had recorded.
    await test_.db.query(
      `update public.chapter_content_jobs set lease_expires_at = now() - interval '1 second' where id = $1`,
      [jobId],
    );
    await reapExpiredLeases(test_.db);
    // Haiku input at $0.10/M: 2,000 tokens are 200 µ$ (plus the instance time so far).
    const [reaped] = await test_.db.query<{ outcome: string; cost_input_micros: number; output_tokens: number }>(
      'select outcome, cost_input_micros, output_tokens from public.job_attempts',
    );
    expect(reaped).toMatchObject({ outcome: 'reaped', cost_input_micros: 200, output_tokens: 0 });
    // It wakes up, finds its lease gone, and books the 500 output tokens its stream served meanwhile.
    control.reason = 'lease_lost';
    control.abort.abort();
    expect((await running).outcome).toBe('abandoned');
    const [attempt] = await test_.db.query<{ output_tokens: number; cost_output_micros: number }>(
      'select output_tokens, cost_output_micros from public.job_attempts',
    );
    expect(attempt).toMatchObject({ output_tokens: 500, cost_output_micros: 250 });
    const [row] = await test_.db.query<{ output_tokens: number; cost_total_micros: number }>(
      'select output_tokens, cost_total_micros from public.chapter_content_jobs',
    );
    expect(row.output_tokens).toBe(500);
    await expectEveryTotalToEqualTheLedger(Number(row.cost_total_micros));
  });

  it('migrates jobs from before the ledger as one attempt each, holding their totals', async () => {
    const { jobId } = await submitJob(test_.db, newJob(chapters[0]));
    // A job finished before the ledger existed: totals in its row, no attempt.
    await test_.db.query(
      `update public.chapter_content_jobs set status = 'succeeded', attempts = 2, started_at = now() - interval '2 days',
         finished_at = now() - interval '2 days', cost_input_micros = 500, cost_output_micros = 4000,
         cost_total_micros = 4500, input_tokens = 5000, output_tokens = 400 where id = $1`,
      [jobId],
    );
    await test_.db.query('select public.book_jobs_without_attempts()');
    await test_.db.query('select public.book_jobs_without_attempts()');
    expect(
      await test_.db.query(
        'select attempt, outcome, migrated, cost_total_micros, input_tokens from public.job_attempts',
      ),
    ).toMatchObject([{ attempt: 2, outcome: 'succeeded', migrated: true, input_tokens: 5000 }]);
    await test_.db.query(`select public.refresh_job_rollups(((now() at time zone 'utc')::date - 3))`);
    await expectEveryTotalToEqualTheLedger(4500);
  });

  it('refuses an unpriced model in SQL, and fails a job that still reaches a worker without retrying it', async () => {
    const [{ models }] = await test_.db.query<{ models: string[] }>(
      `select array_agg(model order by model) as models from public.generation_models where model <> 'analytics'`,
    );
    expect(models).toEqual(knownModels().sort());
    await expect(submitJob(test_.db, newJob(chapters[0], { model: 'gpt-unknown' }))).rejects.toThrow(
      /generation_models|foreign key/,
    );

    // A worker whose price table lacks the job's model (an older deployment, say).
    const { ['claude-haiku-5-5']: _haiku, ...otherModels } = DEFAULT_PRICES.models;
    const prices: PriceTable = { ...DEFAULT_PRICES, models: otherModels };
    let streams = 0;
    const generator: ChapterGenerator = {
      name: 'anthropic',
      generate: async () => {
        streams += 1;
        throw new Error('must not run');
      },
    };
    const { jobId } = await submitJob(test_.db, newJob(chapters[0], { model: 'claude-haiku-5-5', maxRetries: 2 }));
    const [job] = await claimJobs(test_.db, 'w1', 30);
    const result = await executeJob({
      db: test_.db,
      job,
      generator,
      workerId: 'w1',
      leaseSeconds: 30,
      prices,
      control: { abort: new AbortController() },
      log: silentLogger,
    });
    expect(result.outcome).toBe('failed');
    expect(streams).toBe(0);
    const [row] = await test_.db.query<{ status: string; error_code: string; error_message: string }>(
      'select status, error_code, error_message from public.chapter_content_jobs where id = $1',
      [jobId],
    );
    expect(row).toMatchObject({ status: 'failed', error_code: 'unpriced_model' });
    expect(row.error_message).toContain('claude-haiku-5-5');
    const costs = await presentCosts(test_.db, monthRange());
    expect(costs.unpricedAttempts).toBe(1);
    expect(costs.byModel).toMatchObject([{ model: 'claude-haiku-5-5', unpriced: 1 }]);
  });
});
