import { randomUUID } from 'node:crypto';

import { cancelJobs, retryJobs } from './job-control.server';
import { claimJobs, completeJob, failJob, submitJob } from '../queue.server';
import { databaseTargets, type TestDatabase } from '../../../test/support/databases';
import { attemptUsage as usage, jobRow, newJob, seededChapterIds } from '../../../test/support/fixtures';

describe.each(databaseTargets())('bulk cancel and retry on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];
  let wakes: number;
  const runtime = () => ({ db: test_.db, wakeWorker: () => (wakes += 1) });
  const caller = { actor: 'cm@switchyard.local' };

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
    wakes = 0;
  });
  afterEach(async () => {
    await test_.drop();
  });

  /** One job in each state a bulk action meets: pending, running, succeeded, failed. */
  async function jobsInEveryState() {
    const { db } = test_;
    const ids = [];
    for (const chapter of chapters.slice(0, 4)) ids.push((await submitJob(db, newJob(chapter))).jobId);
    const [running, succeeded, failed] = await claimJobs(db, 'w', 30, 3);
    await completeJob(db, succeeded.id, 'w', { content: '# Done', stopReason: 'end_turn', usage });
    await failJob(db, failed.id, 'w', { code: 'bad_request', message: 'Refused.', retryable: false, usage });
    const pending = ids.find((id) => ![running.id, succeeded.id, failed.id].includes(id))!;
    return { pending, running: running.id, succeeded: succeeded.id, failed: failed.id };
  }

  it('cancels a mixed selection in one call and reports every job, in the order asked', async () => {
    const { db } = test_;
    const job = await jobsInEveryState();
    const unknown = randomUUID();

    const result = await cancelJobs(runtime(), caller, [job.running, unknown, job.pending, job.succeeded, job.pending]);

    expect(result.outcomes.map((outcome) => [outcome.jobId, outcome.kind])).toEqual([
      [job.running, 'stopping'],
      [unknown, 'not_found'],
      [job.pending, 'cancelled'],
      [job.succeeded, 'conflict'],
    ]);
    expect(result).toMatchObject({ changed: 2, skipped: 2 });
    expect(await jobRow(db, job.pending)).toMatchObject({ status: 'cancelled', error_code: 'cancelled' });
    expect((await jobRow(db, job.running)).cancel_requested_at).toBeInstanceOf(Date);
    expect((await jobRow(db, job.succeeded)).status).toBe('succeeded');
    const events = await db.query<{ job_id: string; event: string }>(
      `select job_id, event from public.job_events where event in ('cancel_requested', 'cancelled') order by job_id`,
    );
    expect(events).toEqual(
      [
        { job_id: job.pending, event: 'cancelled' },
        { job_id: job.running, event: 'cancel_requested' },
      ].sort((a, b) => a.job_id.localeCompare(b.job_id)),
    );
    const audited = await db.query<{ target_id: string }>(
      `select target_id from public.audit_log where action = 'job.cancel' order by target_id`,
    );
    expect(audited.map((row) => row.target_id)).toEqual([job.pending, job.running].sort());
    expect(wakes).toBe(0);
  });

  it('retries failed and cancelled jobs in one call with a fresh budget, and wakes the worker once', async () => {
    const { db } = test_;
    const job = await jobsInEveryState();
    await cancelJobs(runtime(), caller, [job.pending]);
    // A job failed as "worker crashed" has used up its reaps in a row.
    await db.query('update public.chapter_content_jobs set consecutive_reaps = 3 where id = $1', [job.failed]);

    const result = await retryJobs(runtime(), caller, [job.failed, job.pending, job.succeeded]);

    expect(result.outcomes.map((outcome) => [outcome.jobId, outcome.kind])).toEqual([
      [job.failed, 'queued'],
      [job.pending, 'queued'],
      [job.succeeded, 'conflict'],
    ]);
    expect(result.outcomes[2].message).toBe('Only failed or cancelled jobs can be retried; this one is succeeded.');
    expect(wakes).toBe(1);
    expect(await jobRow(db, job.failed)).toMatchObject({
      status: 'pending',
      attempts: 1,
      max_attempts: 4,
      error_code: null,
      finished_at: null,
      consecutive_reaps: 0,
    });
    expect(await jobRow(db, job.pending)).toMatchObject({ status: 'pending', cancel_requested_at: null });
    const retried = await db.query<{ job_id: string }>(
      `select job_id from public.job_events where event = 'retry_requested' order by job_id`,
    );
    expect(retried.map((row) => row.job_id)).toEqual([job.failed, job.pending].sort());
    const audited = await db.query<{ target_id: string }>(
      `select target_id from public.audit_log where action = 'job.retry' order by target_id`,
    );
    expect(audited.map((row) => row.target_id)).toEqual([job.failed, job.pending].sort());
  });

  it('does not wake the worker when nothing was queued', async () => {
    const job = await jobsInEveryState();
    const result = await retryJobs(runtime(), caller, [job.running, job.succeeded]);
    expect(result).toMatchObject({ changed: 0, skipped: 2 });
    expect(wakes).toBe(0);
  });
});
