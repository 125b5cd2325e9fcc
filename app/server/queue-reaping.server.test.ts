import { claimJobs, failJob, reapExpiredLeases, submitJob } from './queue.server';
import type { Database } from './db/port.server';
import { databaseTargets, type TestDatabase } from '../../test/support/databases';
import { attemptUsage as usage, jobRow, newJob, seededChapterIds } from '../../test/support/fixtures';

/**
 * Reaping (reap_expired_leases): a job whose worker died waits before it runs again, by the
 * job's own retry policy, and a job whose workers keep dying is failed as `worker_crashed`
 * instead of taking down worker after worker.
 */
describe.each(databaseTargets())('reaping on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
  });
  afterEach(async () => {
    await test_.drop();
  });

  /** A worker claims the job and dies: its lease runs out and the sweeper reaps it. */
  async function claimAndDie(db: Database, jobId: string, worker: string) {
    await db.query('update public.chapter_content_jobs set run_after = now() where id = $1', [jobId]);
    const [claimed] = await claimJobs(db, worker, 30);
    expect(claimed?.id).toBe(jobId);
    await db.query(
      `update public.chapter_content_jobs set lease_expires_at = now() - interval '1 second' where id = $1`,
      [jobId],
    );
    return reapExpiredLeases(db);
  }

  it('puts a reaped job back after the backoff of its retry policy, not at the head of the queue', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0], { retryBaseMs: 4000, retryMaxMs: 60000 }));
    const before = Date.now();
    expect(await claimAndDie(db, jobId, 'crashed-worker')).toEqual([{ job_id: jobId, status: 'pending' }]);
    const job = await jobRow(db, jobId);
    const delay = (job.run_after as Date).getTime() - before;
    // Exponential with equal jitter, attempt 1: between base/2 and base (1 s of clock slack).
    expect(delay).toBeGreaterThanOrEqual(2000 - 1000);
    expect(delay).toBeLessThanOrEqual(4000 + 1000);
    expect(job).toMatchObject({ error_code: 'lease_expired', consecutive_reaps: 1 });
    expect(await claimJobs(db, 'next-worker', 30)).toEqual([]);
  });

  it('fails a job reaped max_consecutive_reaps() times in a row as worker_crashed, with its history', async () => {
    const { db } = test_;
    const [{ limit }] = await db.query<{ limit: number }>('select public.max_consecutive_reaps() as limit');
    expect(limit).toBe(3);
    // Attempts to spare, so the crash limit (not the retry budget) is what stops it.
    const { jobId } = await submitJob(db, newJob(chapters[0], { maxRetries: 10 }));
    expect(await claimAndDie(db, jobId, 'worker-1')).toEqual([{ job_id: jobId, status: 'pending' }]);
    expect(await claimAndDie(db, jobId, 'worker-2')).toEqual([{ job_id: jobId, status: 'pending' }]);
    expect(await claimAndDie(db, jobId, 'worker-3')).toEqual([{ job_id: jobId, status: 'failed' }]);

    const job = await jobRow(db, jobId);
    expect(job).toMatchObject({ status: 'failed', error_code: 'worker_crashed', attempts: 3 });
    expect(job.finished_at).toBeInstanceOf(Date);
    expect(job.error_message).toMatch(/stopped heartbeating 3 attempts in a row \(last: worker-3\)/);
    expect(await claimJobs(db, 'worker-4', 30)).toEqual([]);

    const history = await db.query<{ to_status: string; error_code: string | null; worker: string | null }>(
      `select to_status, detail ->> 'error_code' as error_code, detail ->> 'worker' as worker
       from public.job_events where job_id = $1 and from_status = 'running' order by id`,
      [jobId],
    );
    expect(history).toEqual([
      { to_status: 'pending', error_code: 'lease_expired', worker: 'worker-1' },
      { to_status: 'pending', error_code: 'lease_expired', worker: 'worker-2' },
      { to_status: 'failed', error_code: 'worker_crashed', worker: 'worker-3' },
    ]);
  });

  it('counts only reaps in a row: an attempt that ends by itself resets the count', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0], { maxRetries: 10, retryBaseMs: 0 }));
    await claimAndDie(db, jobId, 'worker-1');
    await claimAndDie(db, jobId, 'worker-2');
    await db.query('update public.chapter_content_jobs set run_after = now() where id = $1', [jobId]);
    await claimJobs(db, 'worker-3', 30);
    expect(
      await failJob(db, jobId, 'worker-3', { code: 'overloaded', message: 'Overloaded', retryable: true, usage }),
    ).toBe('pending');
    expect((await jobRow(db, jobId)).consecutive_reaps).toBe(0);
    expect(await claimAndDie(db, jobId, 'worker-4')).toEqual([{ job_id: jobId, status: 'pending' }]);
    expect(await claimAndDie(db, jobId, 'worker-5')).toEqual([{ job_id: jobId, status: 'pending' }]);
  });

  it('still fails a reaped job whose attempts are spent as lease_expired, and cancels a cancelled one', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0], { maxRetries: 0 }));
    expect(await claimAndDie(db, jobId, 'worker-1')).toEqual([{ job_id: jobId, status: 'failed' }]);
    expect((await jobRow(db, jobId)).error_code).toBe('lease_expired');

    const { jobId: cancelled } = await submitJob(db, newJob(chapters[1]));
    await claimJobs(db, 'worker-2', 30);
    await db.query(
      `update public.chapter_content_jobs
       set cancel_requested_at = now(), lease_expires_at = now() - interval '1 second' where id = $1`,
      [cancelled],
    );
    expect(await reapExpiredLeases(db)).toEqual([{ job_id: cancelled, status: 'cancelled' }]);
  });
});
