import { claimJobs, completeJob, failJob, retryJob, submitJob } from '../../app/server/queue.server';
import { presentLatency } from '../../app/server/presenters/analytics.server';
import { presentJobDetail } from '../../app/server/presenters/job-status.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { attemptUsage as usage, newJob, seededChapterIds } from '../support/fixtures';

/**
 * Issue 10 item 7: a job that failed, sat failed for a while and was retried must not count that
 * time as queue wait (nor as end to end of the retried request), on its page or in the charts.
 */
describe.each(databaseTargets())('latency of a retried job on $name', (target) => {
  let test_: TestDatabase;

  beforeEach(async () => {
    test_ = await target.create();
  });
  afterEach(() => test_.drop());

  it('measures queue wait and end to end from the retry, not from the first submission', async () => {
    const [chapter] = await seededChapterIds(test_.db);
    const { jobId } = await submitJob(test_.db, newJob(chapter));
    await claimJobs(test_.db, 'w1', 30);
    expect(await failJob(test_.db, jobId, 'w1', { code: 'boom', message: 'Boom.', retryable: false, usage })).toBe(
      'failed',
    );
    // It sat failed for ten minutes before someone retried it.
    await test_.db.query(
      `update public.chapter_content_jobs set created_at = created_at - interval '10 minutes',
         queued_at = queued_at - interval '10 minutes', requested_at = requested_at - interval '10 minutes',
         run_after = run_after - interval '10 minutes', started_at = started_at - interval '10 minutes',
         finished_at = finished_at - interval '10 minutes'
       where id = $1`,
      [jobId],
    );
    expect(await retryJob(test_.db, jobId, 'cm@switchyard.local')).toBe('pending');
    const [claimed] = await claimJobs(test_.db, 'w2', 30);
    expect(claimed.id).toBe(jobId);
    expect(await completeJob(test_.db, jobId, 'w2', { content: '# Done', stopReason: 'end_turn', usage })).toBe(true);

    const detail = await presentJobDetail(test_.db, jobId);
    // The retried attempt was claimed at once: well under the ten minutes it sat failed.
    expect(detail!.latency.queueWaitMs).toBeGreaterThanOrEqual(0);
    expect(detail!.latency.queueWaitMs).toBeLessThan(60_000);
    expect(detail!.latency.endToEndMs).toBeLessThan(60_000);

    const today = new Date().toISOString().slice(0, 10);
    const latency = await presentLatency(test_.db, { from: today, to: today });
    const point = latency.points.find((candidate) => candidate.finished === 1)!;
    // Bucket upper bounds: anything from the ten minutes would land in the 600,000+ ms buckets.
    expect(point.queueP95).toBeLessThanOrEqual(45_000);
    expect(point.cloudP95).toBeLessThanOrEqual(45_000);
  });

  it('does not count a backoff or an earlier attempt as queue wait', async () => {
    const [chapter] = await seededChapterIds(test_.db);
    const { jobId } = await submitJob(test_.db, newJob(chapter));
    await claimJobs(test_.db, 'w1', 30);
    expect(await failJob(test_.db, jobId, 'w1', { code: 'overloaded', message: 'Busy.', retryable: true, usage })).toBe(
      'pending',
    );
    const [row] = await test_.db.query<{ queued_at: Date; run_after: Date; requested_at: Date; created_at: Date }>(
      'select queued_at, run_after, requested_at, created_at from public.chapter_content_jobs where id = $1',
      [jobId],
    );
    // Queued again when its backoff ends; still the same request.
    expect(row.queued_at.getTime()).toBe(row.run_after.getTime());
    expect(row.requested_at.getTime()).toBe(row.created_at.getTime());
  });
});
