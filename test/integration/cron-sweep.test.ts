import { claimJobs, submitJob } from '../../app/server/queue.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { jobRow, newJob, seededChapterIds } from '../support/fixtures';
import { createTestApp } from '../support/remix-app';

const CRON_SECRET = 'cron-secret-for-the-sweeper-test';

/** GET /api/cron/sweep: what Vercel Cron calls every minute, on the route builder's error shape. */
describe.each(databaseTargets())('the cron sweep route on $name', (target) => {
  let test_: TestDatabase;

  beforeEach(async () => {
    test_ = await target.create();
  });
  afterEach(() => test_.drop());

  it('is off until CRON_SECRET is set', async () => {
    const app = await createTestApp(test_.db);
    const response = await app.request('/api/cron/sweep', { headers: { Authorization: `Bearer ${CRON_SECRET}` } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { code: 'not_found', message: expect.stringMatching(/set CRON_SECRET/) },
    });
  });

  it('refuses a wrong or missing secret with 401 JSON and sweeps nothing', async () => {
    const app = await createTestApp(test_.db, { CRON_SECRET });
    for (const authorization of [`Bearer ${CRON_SECRET}x`, 'Bearer short', '']) {
      const response = await app.request('/api/cron/sweep', { headers: { Authorization: authorization } });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: { code: 'unauthorized', message: expect.stringMatching(/Bearer <CRON_SECRET>/) },
      });
    }
    expect(app.wakes).toEqual([]);
  });

  it('with the secret, puts an expired lease back in the queue and wakes the worker', async () => {
    const { db } = test_;
    const app = await createTestApp(db, { CRON_SECRET });
    const [chapterId] = await seededChapterIds(db);
    const { jobId } = await submitJob(db, newJob(chapterId));
    await db.query('update public.chapter_content_jobs set run_after = now() where id = $1', [jobId]);
    expect((await claimJobs(db, 'a-worker-that-dies', 30)).map((job) => job.id)).toEqual([jobId]);
    await db.query(
      `update public.chapter_content_jobs set lease_expires_at = now() - interval '1 second' where id = $1`,
      [jobId],
    );

    const response = await app.request('/api/cron/sweep', { headers: { Authorization: `Bearer ${CRON_SECRET}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toMatchObject({ reaped: 1, requeued: 1, failed: 0, woke: true });
    expect(await jobRow(db, jobId)).toMatchObject({ status: 'pending', error_code: 'lease_expired' });
    expect(app.wakes).toHaveLength(1);
  });
});
