import { GenerationError, type ChapterGenerator } from '../app/domain/generation';
import { submitBatch, submitJob, cancelJob } from '../app/server/queue.server';
import { databaseTargets, type TestDatabase } from '../test/support/databases';
import { jobRow, newJob, seededChapterIds, watchingQueries } from '../test/support/fixtures';
import { createOfflineGenerator } from '../app/server/generators/offline.server';
import { JobRunner } from './job-runner';
import { silentLogger } from '../app/server/log.server';

describe.each(databaseTargets())('JobRunner on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
  });
  afterEach(async () => {
    await test_.drop();
  });

  it('claims every pending job, streams it, and records content, usage and the offline generator', async () => {
    const { db } = test_;
    const { batchId } = await submitBatch(
      db,
      { name: 'b', createdBy: 't' },
      chapters.slice(0, 3).map((id) => newJob(id)),
    );
    const runner = new JobRunner({ db, generator: createOfflineGenerator({ delayMs: 0 }), log: silentLogger });
    expect(await runner.wake()).toBe(3);
    const jobs = await db.query<{
      status: string;
      generator: string;
      output_tokens: number;
      input_tokens: number;
      first_token_at: Date | null;
    }>(
      'select status, generator, output_tokens, input_tokens, first_token_at from public.chapter_content_jobs where batch_id = $1',
      [batchId],
    );
    for (const job of jobs) {
      expect(job).toMatchObject({ status: 'succeeded', generator: 'offline' });
      expect(job.output_tokens).toBeGreaterThan(50);
      expect(job.input_tokens).toBeGreaterThan(20);
      expect(job.first_token_at).toBeInstanceOf(Date);
    }
    const [chapter] = await db.query<{ content: string }>('select content from public.chapters where id = $1', [
      chapters[0],
    ]);
    expect(chapter.content).toContain('Offline placeholder');
    const [heartbeat] = await db.query<{ jobs_succeeded: number }>(
      'select jobs_succeeded from public.worker_heartbeats where worker_id = $1',
      [runner.workerId],
    );
    expect(heartbeat.jobs_succeeded).toBe(3);
  });

  it('does not lose a wake-up that arrives while a drain reports its end', async () => {
    const { db } = test_;
    const first = await submitJob(db, newJob(chapters[0]));
    let second: { jobId: string } | undefined;
    let woken: Promise<number> | undefined;
    // When the drain that ran the first job writes its end-of-drain presence, a second job is
    // queued and the worker woken, as the app does after a submit.
    const watched = watchingQueries(db, async (sql) => {
      if (!second && sql.includes('worker_heartbeat') && (await jobRow(db, first.jobId)).status === 'succeeded') {
        second = await submitJob(db, newJob(chapters[1]));
        woken = runner.wake();
      }
    });
    const runner = new JobRunner({ db: watched, generator: createOfflineGenerator({ delayMs: 0 }), log: silentLogger });
    expect(await runner.wake()).toBe(2);
    expect(second).toBeDefined();
    expect(await woken).toBe(2);
    expect((await jobRow(db, second!.jobId)).status).toBe('succeeded');
  });

  it('fills its free slots with one claim and records jobs that end together in one statement', async () => {
    const { db } = test_;
    const { batchId } = await submitBatch(
      db,
      { name: 'b', createdBy: 't' },
      chapters.slice(0, 6).map((id) => newJob(id)),
    );
    const statements: { sql: string; params?: readonly unknown[] }[] = [];
    const watched = watchingQueries(db, (sql, params) => {
      statements.push({ sql, params });
    });
    // Every generation waits until all six run, so their ends arrive together.
    let started = 0;
    let releaseAll: () => void = () => undefined;
    const allRunning = new Promise<void>((resolve) => (releaseAll = resolve));
    const offline = createOfflineGenerator({ delayMs: 0 });
    const together: ChapterGenerator = {
      name: 'offline',
      async generate(request, hooks) {
        if ((started += 1) === 6) releaseAll();
        await allRunning;
        return offline.generate(request, hooks);
      },
    };
    const runner = new JobRunner({ db: watched, generator: together, concurrency: 6, log: silentLogger });
    expect(await runner.wake()).toBe(6);

    const claims = statements.filter((s) => s.sql.includes('claim_jobs'));
    expect(claims[0].params?.[2]).toBe(6);
    expect(statements.filter((s) => s.sql.includes('complete_job'))).toHaveLength(1);
    const succeeded = await db.query<{ n: number }>(
      `select count(*)::int as n from public.chapter_content_jobs where batch_id = $1 and status = 'succeeded'`,
      [batchId],
    );
    expect(succeeded[0].n).toBe(6);
    const versions = await db.query<{ n: number }>(
      `select count(*)::int as n from public.chapter_versions v join public.chapter_content_jobs j on j.id = v.job_id
       where j.batch_id = $1`,
      [batchId],
    );
    expect(versions[0].n).toBe(6);
  });

  it('with wakeOnIdle off works only inside a wake-up, and stops claiming when told it may not continue', async () => {
    const { db } = test_;
    const runner = new JobRunner({
      db,
      generator: createOfflineGenerator({ delayMs: 0 }),
      log: silentLogger,
      wakeOnIdle: false,
    });
    await runner.start();
    try {
      await submitBatch(
        db,
        { name: 'b', createdBy: 't' },
        chapters.slice(0, 3).map((id) => newJob(id)),
      );
      // The NOTIFY of the new jobs arrives, but an instance without a request has no CPU.
      await new Promise((resolve) => setTimeout(resolve, 700));
      const pending = async () =>
        (
          await db.query<{ n: number }>(
            `select count(*)::int as n from public.chapter_content_jobs where status = 'pending'`,
          )
        )[0].n;
      expect(await pending()).toBe(3);
      // A wake-up whose fleet steps down after one job ends after that job.
      let asked = 0;
      expect(await runner.wake(60_000, async () => (asked += 1) === 1)).toBe(1);
      expect(await pending()).toBe(2);
      expect(await runner.wake(60_000)).toBe(2);
    } finally {
      await runner.stop();
    }
  });

  it('aborts a running generation when its cancel is requested, recording the usage so far', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    const runner = new JobRunner({ db, generator: createOfflineGenerator({ delayMs: 150 }), log: silentLogger });
    await runner.start();
    await expect
      .poll(async () => (await jobRow(db, jobId)).progress_output_tokens, { timeout: 5000 })
      .toBeGreaterThan(0);
    expect(await cancelJob(db, jobId, 'cm')).toBe('running');
    await expect.poll(async () => (await jobRow(db, jobId)).status, { timeout: 2000 }).toBe('cancelled');
    expect((await jobRow(db, jobId)).output_tokens).toBeGreaterThan(0);
    await runner.stop();
  });

  it('retries a retryable generator error and fails a permanent one with its message', async () => {
    const { db } = test_;
    let calls = 0;
    const flaky: ChapterGenerator = {
      name: 'offline',
      async generate(request, hooks) {
        calls += 1;
        if (request.chapter.position === 1) throw new GenerationError('Upstream overloaded', 'overloaded', calls < 2);
        return createOfflineGenerator({ delayMs: 0 }).generate(request, hooks);
      },
    };
    const { jobId } = await submitJob(db, newJob(chapters[0], { retryBaseMs: 0 }));
    const runner = new JobRunner({ db, generator: flaky, log: silentLogger });
    await runner.wake();
    // First attempt was retryable and rescheduled at once (base 0 ms); the second was not.
    expect(await jobRow(db, jobId)).toMatchObject({
      status: 'failed',
      attempts: 2,
      error_code: 'overloaded',
      error_message: 'Upstream overloaded',
    });
  });

  it('gives its running job back to the queue when stopped', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    // Slow enough (about 4 s) that the job is still streaming when stop() comes, even on a busy machine.
    const runner = new JobRunner({ db, generator: createOfflineGenerator({ delayMs: 200 }), log: silentLogger });
    void runner.wake();
    await expect.poll(async () => (await jobRow(db, jobId)).status).toBe('running');
    await runner.stop();
    expect(await jobRow(db, jobId)).toMatchObject({ status: 'pending', attempts: 0, lease_owner: null });
  });
});
