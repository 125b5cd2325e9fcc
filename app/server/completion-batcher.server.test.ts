import { CompletionBatcher } from './completion-batcher.server';
import type { Database, Queryable } from './db/port.server';
import {
  cancelJob,
  claimJobs,
  completeJob,
  completeJobs,
  failJobs,
  reapExpiredLeases,
  submitJob,
  type AttemptUsage,
} from './queue.server';
import { databaseTargets, type TestDatabase } from '../../test/support/databases';
import { jobRow, newJob, seededChapterIds } from '../../test/support/fixtures';

const usage: AttemptUsage = {
  generator: 'offline',
  inputTokens: 100,
  outputTokens: 400,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 50,
  busyMs: 900,
  costMicros: { input: 10, output: 200, cacheRead: 1, cloudRun: 30 },
};
const COST = 10 + 200 + 1 + 30;

/** The database with its statements counted. */
function counting(db: Database): { db: Queryable; statements: () => number } {
  let statements = 0;
  return {
    db: {
      query: (sql, params) => {
        statements += 1;
        return db.query(sql, params);
      },
      exec: (sql) => {
        statements += 1;
        return db.exec(sql);
      },
    },
    statements: () => statements,
  };
}

async function versionsOf(db: Queryable, jobId: string) {
  return db.query<{ version: number; content: string }>(
    'select version, content from public.chapter_versions where job_id = $1',
    [jobId],
  );
}

async function attemptsOf(db: Queryable, jobId: string) {
  return db.query<{ outcome: string | null; ended_at: Date | null; cost_total_micros: number; worker: string }>(
    'select outcome, ended_at, cost_total_micros::int, worker from public.job_attempts where job_id = $1 order by attempt',
    [jobId],
  );
}

/** Takes a running job's lease away from its worker, as a reaper does after a missed heartbeat. */
async function expireAndReap(db: Queryable, jobId: string) {
  await db.query(
    `update public.chapter_content_jobs set lease_expires_at = now() - interval '1 second' where id = $1`,
    [jobId],
  );
  await reapExpiredLeases(db);
  await db.query(`update public.chapter_content_jobs set run_after = now() where id = $1`, [jobId]);
}

describe.each(databaseTargets())('set-based completions on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
  });
  afterEach(async () => {
    await test_.drop();
  });

  it('completes a batch in one statement, refusing only the job whose lease was lost; one version each, ledger closed', async () => {
    const { db } = test_;
    // Two jobs of the same chapter in one batch, and two of others.
    const ids = [];
    for (const chapterId of [chapters[0], chapters[0], chapters[1], chapters[2]]) {
      ids.push((await submitJob(db, newJob(chapterId))).jobId);
    }
    expect(await claimJobs(db, 'worker-a', 30, 4)).toHaveLength(4);
    // The fourth job's lease expires: the reaper takes it back and worker-b claims it.
    await expireAndReap(db, ids[3]);
    expect((await claimJobs(db, 'worker-b', 30, 1)).map((job) => job.id)).toEqual([ids[3]]);

    const answers = await completeJobs(
      db,
      ids.map((jobId, n) => ({ jobId, workerId: 'worker-a', content: `# Result ${n}`, stopReason: 'end_turn', usage })),
    );
    expect([...answers]).toEqual([
      [ids[0], true],
      [ids[1], true],
      [ids[2], true],
      [ids[3], false],
    ]);

    for (const jobId of ids.slice(0, 3)) {
      expect(await jobRow(db, jobId)).toMatchObject({
        status: 'succeeded',
        lease_owner: null,
        stop_reason: 'end_turn',
        input_tokens: 100,
        output_tokens: 400,
        cost_total_micros: COST,
      });
      expect(await versionsOf(db, jobId)).toHaveLength(1);
      expect(await attemptsOf(db, jobId)).toEqual([
        expect.objectContaining({ outcome: 'succeeded', ended_at: expect.any(Date), cost_total_micros: COST }),
      ]);
    }
    // The chapter completed twice got two versions, in the order given, and keeps the last content.
    expect([...(await versionsOf(db, ids[0])), ...(await versionsOf(db, ids[1]))]).toEqual([
      { version: 1, content: '# Result 0' },
      { version: 2, content: '# Result 1' },
    ]);
    const [chapter] = await db.query<{ content: string; content_version: number }>(
      'select content, content_version from public.chapters where id = $1',
      [chapters[0]],
    );
    expect(chapter).toEqual({ content: '# Result 1', content_version: 2 });

    // The refused job is untouched: still running under worker-b, no version, its attempt open.
    expect(await jobRow(db, ids[3])).toMatchObject({ status: 'running', lease_owner: 'worker-b' });
    expect(await versionsOf(db, ids[3])).toHaveLength(0);
    expect((await attemptsOf(db, ids[3])).map((a) => [a.worker, a.outcome])).toEqual([
      ['worker-a', 'reaped'],
      ['worker-b', null],
    ]);

    // A second call with the same results writes nothing more.
    expect([
      ...(await completeJobs(
        db,
        ids
          .slice(0, 1)
          .map((jobId) => ({ jobId, workerId: 'worker-a', content: '# Again', stopReason: 'end_turn', usage })),
      )),
    ]).toEqual([[ids[0], false]]);
    expect(await versionsOf(db, ids[0])).toHaveLength(1);
  });

  it('fails a batch per job: retried after the route backoff, failed, cancelled, or refused when the lease was lost', async () => {
    const { db } = test_;
    const retryable = (await submitJob(db, newJob(chapters[0], { maxRetries: 2, retryBaseMs: 60_000 }))).jobId;
    const permanent = (await submitJob(db, newJob(chapters[1]))).jobId;
    const cancelled = (await submitJob(db, newJob(chapters[2]))).jobId;
    const lost = (await submitJob(db, newJob(chapters[3]))).jobId;
    await claimJobs(db, 'worker-a', 30, 4);
    expect(await cancelJob(db, cancelled, 'cm@switchyard.local')).toBe('running');
    await expireAndReap(db, lost);

    const statuses = await failJobs(
      db,
      [retryable, permanent, cancelled, lost].map((jobId) => ({
        jobId,
        workerId: 'worker-a',
        code: 'overloaded',
        message: 'Upstream overloaded',
        retryable: jobId !== permanent,
        usage,
      })),
    );
    expect([...statuses]).toEqual([
      [retryable, 'pending'],
      [permanent, 'failed'],
      [cancelled, 'cancelled'],
      [lost, null],
    ]);

    const retried = await jobRow(db, retryable);
    expect(retried).toMatchObject({
      status: 'pending',
      attempts: 1,
      error_code: 'overloaded',
      cost_total_micros: COST,
    });
    // Exponential from a 60 s base with equal jitter: the first retry waits 30 to 60 s.
    const wait = (retried.run_after as Date).getTime() - Date.now();
    expect(wait).toBeGreaterThan(25_000);
    expect(wait).toBeLessThanOrEqual(60_000);
    expect(await jobRow(db, permanent)).toMatchObject({ status: 'failed', error_message: 'Upstream overloaded' });
    expect(await jobRow(db, cancelled)).toMatchObject({ status: 'cancelled', error_code: 'cancelled' });
    expect((await attemptsOf(db, retryable))[0]).toMatchObject({ outcome: 'retry', cost_total_micros: COST });
    expect((await attemptsOf(db, permanent))[0]).toMatchObject({ outcome: 'failed', cost_total_micros: COST });
    expect((await attemptsOf(db, cancelled))[0]).toMatchObject({ outcome: 'cancelled', cost_total_micros: COST });
    expect((await attemptsOf(db, lost))[0]).toMatchObject({ outcome: 'reaped', cost_total_micros: 0 });
  });

  it('flushes results that arrive together in one statement, each answered only once committed', async () => {
    const { db } = test_;
    const ids = [];
    for (const chapterId of chapters.slice(0, 5)) ids.push((await submitJob(db, newJob(chapterId))).jobId);
    await claimJobs(db, 'worker-a', 30, 5);
    const counted = counting(db);
    const batcher = new CompletionBatcher({ db: counted.db, lingerMs: 20 });

    const answers = await Promise.all(
      ids.map(async (jobId) => {
        const completed = await batcher.complete(jobId, 'worker-a', {
          content: '# Done',
          stopReason: 'end_turn',
          usage,
        });
        // Durable before the worker treats the job as done.
        return { completed, status: (await jobRow(db, jobId)).status };
      }),
    );
    expect(answers).toEqual(ids.map(() => ({ completed: true, status: 'succeeded' })));
    expect(counted.statements()).toBe(1);
  });

  it('loses nothing when the worker dies between buffering a result and flushing it: the job runs again once', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    await claimJobs(db, 'worker-a', 30, 1);
    // worker-a buffers its success and dies before the flush (a linger far longer than the test).
    const dead = new CompletionBatcher({ db, lingerMs: 60_000 });
    const neverAnswered = dead.complete(jobId, 'worker-a', {
      content: '# Lost with its worker',
      stopReason: 'end_turn',
      usage,
    });
    expect(dead.buffered).toBe(1);
    expect(await jobRow(db, jobId)).toMatchObject({ status: 'running', lease_owner: 'worker-a' });
    expect(await versionsOf(db, jobId)).toHaveLength(0);

    // Its lease expires; the job runs again on worker-b, whose result is flushed.
    await expireAndReap(db, jobId);
    expect(await claimJobs(db, 'worker-b', 30, 1)).toHaveLength(1);
    const live = new CompletionBatcher({ db });
    expect(await live.complete(jobId, 'worker-b', { content: '# Done by b', stopReason: 'end_turn', usage })).toBe(
      true,
    );

    // Even if the dead worker's buffer were flushed after all, it could not write a second version.
    await dead.flush();
    expect(await neverAnswered).toBe(false);
    expect(await versionsOf(db, jobId)).toEqual([{ version: 1, content: '# Done by b' }]);
    expect((await attemptsOf(db, jobId)).map((a) => [a.worker, a.outcome])).toEqual([
      ['worker-a', 'reaped'],
      ['worker-b', 'succeeded'],
    ]);
  });

  it('records each result on its own when the batch statement fails, so one bad result fails only itself', async () => {
    const { db } = test_;
    const good = (await submitJob(db, newJob(chapters[0]))).jobId;
    const bad = (await submitJob(db, newJob(chapters[1]))).jobId;
    await claimJobs(db, 'worker-a', 30, 2);
    const batcher = new CompletionBatcher({ db, lingerMs: 20 });
    // PostgreSQL text cannot hold a NUL character: this result makes the whole statement fail.
    const [goodAnswer, badAnswer] = await Promise.allSettled([
      batcher.complete(good, 'worker-a', { content: '# Fine', stopReason: 'end_turn', usage }),
      batcher.complete(bad, 'worker-a', { content: '# Broken \u0000', stopReason: 'end_turn', usage }),
    ]);
    expect(goodAnswer).toEqual({ status: 'fulfilled', value: true });
    expect(badAnswer.status).toBe('rejected');
    expect(await jobRow(db, good)).toMatchObject({ status: 'succeeded' });
    expect(await jobRow(db, bad)).toMatchObject({ status: 'running', lease_owner: 'worker-a' });
  });

  it('keeps complete_job working one job at a time, through the same implementation', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    await claimJobs(db, 'worker-a', 30, 1);
    expect(await completeJob(db, jobId, 'worker-b', { content: '# Not mine', stopReason: 'end_turn', usage })).toBe(
      false,
    );
    expect(await completeJob(db, jobId, 'worker-a', { content: '# Mine', stopReason: 'end_turn', usage })).toBe(true);
    expect(await completeJob(db, jobId, 'worker-a', { content: '# Twice', stopReason: 'end_turn', usage })).toBe(false);
    expect(await versionsOf(db, jobId)).toEqual([{ version: 1, content: '# Mine' }]);
  });
});
