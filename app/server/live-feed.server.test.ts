import { JOBS_CHANNEL, type JobsNotification } from './db/port.server';
import { EventCursor, LIVE_FEED_GAP_WAIT_MS, subscribeLiveFeed } from './live-feed.server';
import {
  appendProgress,
  cancelBatch,
  cancelJob,
  claimJobs,
  completeJob,
  failJob,
  submitBatch,
  submitJob,
} from './queue.server';
import { databaseTargets, type TestDatabase } from '../../test/support/databases';
import { attemptUsage, newJob, seededChapterIds } from '../../test/support/fixtures';

const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(databaseTargets())('live job changes on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
  });
  afterEach(async () => {
    await test_.drop();
  });

  /** Every change the feed sends, parsed, until the returned stop is called. */
  async function collect() {
    const changes: JobsNotification[] = [];
    let reloads = 0;
    const stop = await subscribeLiveFeed(test_.db, {
      onJobs: (payload) => changes.push(JSON.parse(payload) as JobsNotification),
      onReload: () => (reloads += 1),
    });
    const statuses = (jobId: string) =>
      changes.flatMap((change) =>
        change.event === 'progress'
          ? []
          : change.jobs.filter((job) => job.id === jobId).map((job) => `${change.event}:${job.status}`),
      );
    return { changes, statuses, stop, reloads: () => reloads };
  }

  it('a statement changing 100 jobs writes their 100 job events and at most one NOTIFY, and only for new work', async () => {
    const { db } = test_;
    const notifications: string[] = [];
    const unlisten = await db.listen(JOBS_CHANNEL, (payload) => notifications.push(payload));
    const { batchId } = await submitBatch(
      db,
      { name: 'hundred', createdBy: 't' },
      Array.from({ length: 100 }, (_, i) => newJob(chapters[i % chapters.length])),
    );
    await expect.poll(() => notifications.length).toBe(1);
    expect(JSON.parse(notifications[0])).toEqual({ event: 'status', jobs: [{ status: 'pending' }] });

    expect(await cancelBatch(db, batchId, 'cm')).toEqual({ cancelled: 100, stopping: 0 });
    await settle();
    await unlisten();
    expect(notifications).toHaveLength(1);
    const [events] = await db.query<{ submitted: number; cancelled: number }>(
      `select count(*) filter (where e.event = 'submitted')::int as submitted,
              count(*) filter (where e.event = 'cancelled')::int as cancelled
       from public.job_events e join public.chapter_content_jobs j on j.id = e.job_id where j.batch_id = $1`,
      [batchId],
    );
    expect(events).toEqual({ submitted: 100, cancelled: 100 });
  });

  it('sends every subscriber every transition of every job, in order, from job_events', async () => {
    const { db } = test_;
    const first = await collect();
    const second = await collect();
    const { jobId: a } = await submitJob(db, newJob(chapters[0]));
    const { jobId: b } = await submitJob(db, newJob(chapters[1]));
    await claimJobs(db, 'w', 30, 2);
    await failJob(db, a, 'w', { code: 'overloaded', message: 'Overloaded', retryable: true, usage: attemptUsage });
    await db.query('update public.chapter_content_jobs set run_after = now() where id = $1', [a]);
    await claimJobs(db, 'w', 30);
    await completeJob(db, a, 'w', { content: 'ok', stopReason: 'end_turn', usage: attemptUsage });
    await cancelJob(db, b, 'cm');

    const expectedA = ['status:pending', 'status:running', 'status:pending', 'status:running', 'status:succeeded'];
    const expectedB = ['status:pending', 'status:running', 'cancel_requested:running'];
    for (const feed of [first, second]) {
      await expect.poll(() => feed.statuses(a)).toEqual(expectedA);
      await expect.poll(() => feed.statuses(b)).toEqual(expectedB);
    }
    await settle();
    await first.stop();
    await second.stop();
    // Nothing twice, though the feed reads again while it waits for ids committed out of order.
    expect(first.statuses(a)).toEqual(expectedA);
    expect(second.statuses(b)).toEqual(expectedB);
    expect(first.reloads()).toBe(0);
  });

  it('sends progress of running jobs as it moves, once per move, with the batch for the batch page', async () => {
    const { db } = test_;
    const feed = await collect();
    const { batchId } = await submitBatch(db, { name: 'p', createdBy: 't' }, [newJob(chapters[0])]);
    const [job] = await claimJobs(db, 'w', 30);
    await expect.poll(() => feed.statuses(job.id)).toEqual(['status:pending', 'status:running']);
    const progress = () =>
      feed.changes
        .filter((change) => change.event === 'progress')
        .flatMap((change) => change.jobs.map((j) => [j.id, j.batch_id, j.output_tokens]));

    const write = { jobId: job.id, workerId: 'w', attempt: job.attempts };
    expect(await appendProgress(db, { ...write, offset: 0, text: '# Ch', outputTokens: 5 })).toBe(true);
    await expect.poll(progress).toEqual([[job.id, batchId, 5]]);
    // A heartbeat moves updated_at but not the progress: nothing is sent for it.
    await db.query('select public.heartbeat_job($1, $2, 30)', [job.id, 'w']);
    expect(await appendProgress(db, { ...write, offset: 4, text: 'apter one', outputTokens: 12 })).toBe(true);
    await expect.poll(progress).toEqual([
      [job.id, batchId, 5],
      [job.id, batchId, 12],
    ]);
    await settle();
    await feed.stop();
    expect(progress()).toHaveLength(2);
  });
});

describe('EventCursor', () => {
  it('delivers ids committed out of order once each, and moves on over a gap that never fills', () => {
    const cursor = new EventCursor(10);
    expect([11, 13].map((id) => cursor.take(id))).toEqual([true, true]);
    cursor.settle(0);
    expect(cursor.position).toBe(11);
    // 13 is read again while 12 is awaited: not delivered twice. 12 commits late: delivered.
    expect([13, 12].map((id) => cursor.take(id))).toEqual([false, true]);
    cursor.settle(10);
    expect(cursor.position).toBe(13);

    expect(cursor.take(15)).toBe(true);
    cursor.settle(1_000);
    expect(cursor.position).toBe(13);
    cursor.settle(1_000 + LIVE_FEED_GAP_WAIT_MS);
    expect(cursor.position).toBe(15);
    expect(cursor.take(14)).toBe(false);
  });
});
