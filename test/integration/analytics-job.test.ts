import type { Database } from '../../app/server/db/port.server';
import { createOfflineGenerator } from '../../app/server/generators/offline.server';
import type { LearningView } from '../../app/server/learning-analytics.server';
import { silentLogger } from '../../app/server/log.server';
import { submitAnalyticsJob, submitJob } from '../../app/server/queue.server';
import { cancelJobs, retryJobs } from '../../app/server/services/job-control.server';
import { JobRunner } from '../../worker/job-runner';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { jobRow, newJob, seededChapterIds, watchingQueries } from '../support/fixtures';
import { insertLearningFixture } from '../support/learning-fixture';

/**
 * The analytics job kind end to end: queued on the same queue as generations, claimed and run by
 * the same worker, its result stored against the figures worked out by hand for
 * insertLearningFixture (the same as learning-analytics.test.ts), its attempt in the ledger at
 * $0 of model cost.
 */
describe.each(databaseTargets())('analytics jobs on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];
  let courseId: string;

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
    ({ courseId } = await insertLearningFixture(test_.db));
  });
  afterEach(() => test_.drop());

  const runner = (db: Database = test_.db) =>
    new JobRunner({ db, generator: createOfflineGenerator({ delayMs: 0 }), log: silentLogger });

  /** The database with the jobs whose progress was written, in order (one entry per write). */
  const watchingProgress = (db: Database) => {
    const progress: string[] = [];
    const watched = watchingQueries(db, (sql, params) => {
      if (sql.includes('append_progress')) progress.push(String(params?.[0]));
    });
    return { watched, progress };
  };

  it('runs beside a generation, streams its steps, and stores the hand-computed figures', async () => {
    const { db } = test_;
    const { watched, progress } = watchingProgress(db);
    const { jobId } = await submitAnalyticsJob(db, { from: '2026-11-01', to: '2026-11-02', createdBy: 'finance@t' });
    const generation = await submitJob(db, newJob(chapters[3]));

    expect(await runner(watched).wake()).toBe(2);

    const job = await jobRow(db, jobId);
    expect(job).toMatchObject({
      kind: 'analytics',
      chapter_id: null,
      status: 'succeeded',
      model: 'analytics',
      stop_reason: 'computed',
      input_tokens: 0,
      output_tokens: 0,
    });
    expect(Number(job.cost_input_micros) + Number(job.cost_output_micros)).toBe(0);
    expect((await jobRow(db, generation.jobId)).status).toBe('succeeded');
    // Three steps streamed as progress, as a generation's tokens are.
    expect(progress.filter((id) => id === jobId)).toHaveLength(3);
    const events = await db.query<{ to_status: string }>(
      'select to_status from public.job_events where job_id = $1 and to_status is not null order by id',
      [jobId],
    );
    expect(events.map((e) => e.to_status)).toEqual(['pending', 'running', 'succeeded']);

    const [stored] = await db.query<{ range_from: string; range_to: string; result: LearningView }>(
      `select range_from::text, range_to::text, result from public.learning_analytics_results where job_id = $1`,
      [jobId],
    );
    expect(stored.range_from).toBe('2026-11-01');
    expect(stored.range_to).toBe('2026-11-02');
    expect(stored.result.chapters.map((c) => [c.position, c.started, c.completed, c.p50Minutes, c.p90Minutes])).toEqual(
      [
        [1, 3, 2, 90, 114],
        [2, 2, 1, 180, 180],
      ],
    );
    expect(stored.result.courses).toEqual([
      {
        courseId,
        courseTitle: expect.any(String),
        learners: 4,
        started: 5,
        completed: 3,
        completionsInRange: 4,
        p50Minutes: 150,
        p90Minutes: 558,
        generationCostMicros: 2_000_000,
        costPerCompletedChapterMicros: 500_000,
      },
    ]);

    // One attempt in the ledger, no model cost, its compute metered; the cost buckets carry it.
    const [attempt] = await db.query<{ model: string; outcome: string; generator: string | null; busy_ms: number }>(
      'select model, outcome, generator, busy_ms from public.job_attempts where job_id = $1',
      [jobId],
    );
    expect(attempt).toMatchObject({ model: 'analytics', outcome: 'succeeded', generator: null });
    expect(attempt.busy_ms).toBeGreaterThanOrEqual(0);
    const buckets = await db.query<{ model: string; attempts: number; cost_output_micros: string }>(
      `select model, attempts::int, cost_output_micros::text
       from public.attempt_cost_buckets(now() - interval '1 day', now() + interval '1 day', 'day') order by model`,
    );
    expect(buckets.map((b) => [b.model, b.attempts, b.cost_output_micros])).toEqual([
      ['analytics', 1, '0'],
      ['claude-haiku-5-5', 1, '0'],
    ]);
  });

  it('replays an idempotency key to the first job and refuses rows of the wrong shape', async () => {
    const { db } = test_;
    const first = await submitAnalyticsJob(db, {
      from: '2026-11-01',
      to: '2026-11-02',
      createdBy: 'f',
      idempotencyKey: 'k1',
    });
    const replay = await submitAnalyticsJob(db, {
      from: '2026-11-01',
      to: '2026-11-02',
      createdBy: 'f',
      idempotencyKey: 'k1',
    });
    expect(replay).toEqual({ jobId: first.jobId, created: false });
    await expect(
      db.query(
        `insert into public.chapter_content_jobs (kind, created_by, model, max_tokens) values ('analytics', 't', 'analytics', 1)`,
      ),
    ).rejects.toThrow(/chapter_content_jobs_kind_shape/);
    await expect(
      db.query(
        `insert into public.chapter_content_jobs (kind, created_by, model, max_tokens) values ('generation', 't', 'claude-haiku-5-5', 1)`,
      ),
    ).rejects.toThrow(/chapter_content_jobs_kind_shape/);
  });

  it('runs again when retried from the Jobs list beside a generation, and keeps one result', async () => {
    const { db } = test_;
    const control = { db, wakeWorker: () => undefined };
    const caller = { actor: 'finance@t' };
    const { jobId } = await submitAnalyticsJob(db, { from: '2026-11-01', to: '2026-11-02', createdBy: 'finance@t' });
    const generation = await submitJob(db, newJob(chapters[3]));
    await cancelJobs(control, caller, [jobId, generation.jobId]);

    const retried = await retryJobs(control, caller, [jobId, generation.jobId]);
    expect(retried.outcomes.map((outcome) => outcome.kind)).toEqual(['queued', 'queued']);
    expect(await jobRow(db, jobId)).toMatchObject({ kind: 'analytics', status: 'pending', chapter_id: null });
    expect(await runner().wake()).toBe(2);

    expect(await jobRow(db, jobId)).toMatchObject({ status: 'succeeded', stop_reason: 'computed' });
    expect((await jobRow(db, generation.jobId)).status).toBe('succeeded');
    const results = await db.query<{ range_from: string }>(
      'select range_from::text from public.learning_analytics_results where job_id = $1',
      [jobId],
    );
    expect(results).toEqual([{ range_from: '2026-11-01' }]);
    // Retried after it succeeded: refused, and the stored result stays the only one.
    const again = await retryJobs(control, caller, [jobId]);
    expect(again.outcomes[0].kind).toBe('conflict');
  });

  it('fails an analytics job whose payload is malformed, naming the field, without retrying it', async () => {
    const { db } = test_;
    const [{ id }] = await db.query<{ id: string }>(
      `insert into public.chapter_content_jobs (kind, payload, created_by, model, max_tokens)
       values ('analytics', '{"from":"2026-11-05","to":"2026-11-01"}', 't', 'analytics', 1) returning id`,
    );
    expect(await runner().wake()).toBe(1);
    const job = await jobRow(db, id);
    expect(job).toMatchObject({ status: 'failed', error_code: 'invalid_payload', attempts: 1 });
    expect(job.error_message).toMatch(/from: must not be after "to"/);
    const results = await db.query('select 1 from public.learning_analytics_results');
    expect(results).toHaveLength(0);
  });
});
