import { JOBS_CHANNEL } from './db/port.server';
import {
  appendProgress,
  cancelBatch,
  cancelJob,
  claimJobs,
  completeJob,
  completeJobs,
  failJob,
  failJobs,
  heartbeatJob,
  reapExpiredLeases,
  releaseJob,
  retryJob,
  submitBatch,
  submitJob,
  type AttemptUsage,
  type ProgressAppend,
} from './queue.server';
import { STREAMED_TEXT_SQL } from './streamed-text.server';
import { databaseTargets, type TestDatabase } from '../../test/support/databases';
import { jobRow, newJob, seededChapterIds } from '../../test/support/fixtures';

const usage: AttemptUsage = {
  generator: 'offline',
  inputTokens: 120,
  outputTokens: 800,
  cacheWrite5mTokens: 10,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 300,
  busyMs: 1500,
  costMicros: { input: 12, output: 400, cacheWrite: 1, cacheRead: 3, cloudRun: 72 },
};

describe.each(databaseTargets())('queue functions on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
  });
  afterEach(async () => {
    await test_.drop();
  });

  it('submits, claims, and completes a job, writing the chapter version and usage', async () => {
    const { db } = test_;
    const { jobId, created } = await submitJob(db, newJob(chapters[0]));
    expect(created).toBe(true);
    expect((await jobRow(db, jobId)).status).toBe('pending');

    const [claimed] = await claimJobs(db, 'worker-a', 30);
    expect(claimed.id).toBe(jobId);
    expect(claimed.status).toBe('running');
    expect(claimed.attempts).toBe(1);
    expect(claimed.lease_owner).toBe('worker-a');

    expect(await completeJob(db, jobId, 'worker-a', { content: '# Done', stopReason: 'end_turn', usage })).toBe(true);
    const job = await jobRow(db, jobId);
    expect(job).toMatchObject({
      status: 'succeeded',
      stop_reason: 'end_turn',
      generator: 'offline',
      input_tokens: 120,
      output_tokens: 800,
      cache_write_5m_tokens: 10,
      cache_read_tokens: 300,
      busy_ms: 1500,
      cost_total_micros: 12 + 400 + 1 + 3 + 72,
      lease_owner: null,
    });
    expect(job.finished_at).toBeInstanceOf(Date);
    const [chapter] = await db.query<{ content: string; content_version: number }>(
      'select content, content_version from public.chapters where id = $1',
      [chapters[0]],
    );
    expect(chapter).toEqual({ content: '# Done', content_version: 1 });
  });

  it('writes exactly one chapter version when complete is called twice', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    await claimJobs(db, 'worker-a', 30);
    expect(await completeJob(db, jobId, 'worker-a', { content: 'first', stopReason: 'end_turn', usage })).toBe(true);
    expect(await completeJob(db, jobId, 'worker-a', { content: 'second', stopReason: 'end_turn', usage })).toBe(false);
    const versions = await db.query<{ content: string }>(
      'select content from public.chapter_versions where job_id = $1',
      [jobId],
    );
    expect(versions).toEqual([{ content: 'first' }]);
    expect((await jobRow(db, jobId)).output_tokens).toBe(800);
  });

  it('returns the same job for a repeated idempotency key', async () => {
    const { db } = test_;
    const first = await submitJob(db, newJob(chapters[0], { idempotencyKey: 'req-1' }));
    const again = await submitJob(db, newJob(chapters[0], { idempotencyKey: 'req-1' }));
    expect(again).toEqual({ jobId: first.jobId, created: false });
    const [{ count }] = await db.query<{ count: number }>('select count(*) as count from public.chapter_content_jobs');
    expect(count).toBe(1);
  });

  it('writes a batch atomically: an unknown chapter leaves nothing behind', async () => {
    const { db } = test_;
    const unknown = '00000000-0000-4000-8000-000000000000';
    await expect(
      submitBatch(db, { name: 'bad', createdBy: 'test' }, [newJob(chapters[0]), newJob(unknown)]),
    ).rejects.toThrow(/foreign key/);
    const [{ jobs, batches }] = await db.query<{ jobs: number; batches: number }>(
      'select (select count(*) from public.chapter_content_jobs) as jobs, (select count(*) from public.batches) as batches',
    );
    expect({ jobs, batches }).toEqual({ jobs: 0, batches: 0 });

    const ok = await submitBatch(
      db,
      { name: 'good', idempotencyKey: 'b-1', createdBy: 'test' },
      chapters.slice(0, 3).map((id) => newJob(id)),
    );
    const again = await submitBatch(
      db,
      { name: 'good', idempotencyKey: 'b-1', createdBy: 'test' },
      chapters.slice(0, 3).map((id) => newJob(id)),
    );
    expect(again).toEqual({ batchId: ok.batchId, created: false });
    const [{ count }] = await db.query<{ count: number }>(
      'select count(*) as count from public.chapter_content_jobs where batch_id = $1',
      [ok.batchId],
    );
    expect(count).toBe(3);
  });

  it('claims by priority, then age', async () => {
    const { db } = test_;
    const low = await submitJob(db, newJob(chapters[0], { priority: 'low' }));
    const normal = await submitJob(db, newJob(chapters[1]));
    const high = await submitJob(db, newJob(chapters[2], { priority: 'high' }));
    const normal2 = await submitJob(db, newJob(chapters[3]));
    const order = (await claimJobs(db, 'w', 30, 10)).map((job) => job.id);
    expect(order).toEqual([high.jobId, normal.jobId, normal2.jobId, low.jobId]);
  });

  it('never gives the same job to two concurrent claimers', async () => {
    const { db } = test_;
    const jobs = [];
    for (let i = 0; i < 40; i += 1) jobs.push(newJob(chapters[i % chapters.length]));
    await submitBatch(db, { name: 'many', createdBy: 'test' }, jobs);
    const claimers = Array.from({ length: 8 }, async (_, worker) => {
      const mine: string[] = [];
      for (;;) {
        const claimed = await claimJobs(db, `worker-${worker}`, 30, 3);
        if (claimed.length === 0) return mine;
        mine.push(...claimed.map((job) => job.id));
      }
    });
    const all = (await Promise.all(claimers)).flat();
    expect(all).toHaveLength(40);
    expect(new Set(all).size).toBe(40);
  });

  it('never claims a cancelled pending job', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    expect(await cancelJob(db, jobId, 'cm@switchyard.local')).toBe('cancelled');
    expect(await claimJobs(db, 'w', 30, 10)).toEqual([]);
    expect((await jobRow(db, jobId)).status).toBe('cancelled');
  });

  it('flags a running job for cancel; its worker hears it on heartbeat and ends it cancelled', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    await claimJobs(db, 'w', 30);
    expect(await cancelJob(db, jobId, 'cm')).toBe('running');
    expect(await heartbeatJob(db, jobId, 'w', 30)).toEqual({ leaseHeld: true, cancelRequested: true });
    expect(await failJob(db, jobId, 'w', { code: 'aborted', message: 'aborted', retryable: true, usage })).toBe(
      'cancelled',
    );
    expect((await jobRow(db, jobId)).output_tokens).toBe(800);
  });

  it('reaps an expired lease back to the queue, and fails the job once attempts are spent', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0], { maxRetries: 1 }));
    await claimJobs(db, 'dead-worker', 1);
    expect(await reapExpiredLeases(db)).toEqual([]);
    await db.query(
      `update public.chapter_content_jobs set lease_expires_at = now() - interval '1 second' where id = $1`,
      [jobId],
    );
    expect(await reapExpiredLeases(db)).toEqual([{ job_id: jobId, status: 'pending' }]);
    expect(await heartbeatJob(db, jobId, 'dead-worker', 30)).toEqual({ leaseHeld: false, cancelRequested: false });

    // A reaped attempt backs off (queue-reaping.server.test.ts); skip the wait.
    await db.query('update public.chapter_content_jobs set run_after = now() where id = $1', [jobId]);
    const [again] = await claimJobs(db, 'live-worker', 1);
    expect(again).toMatchObject({ id: jobId, attempts: 2 });
    expect(await completeJob(db, jobId, 'dead-worker', { content: 'late', stopReason: 'end_turn', usage })).toBe(false);
    await db.query(
      `update public.chapter_content_jobs set lease_expires_at = now() - interval '1 second' where id = $1`,
      [jobId],
    );
    expect(await reapExpiredLeases(db)).toEqual([{ job_id: jobId, status: 'failed' }]);
    expect((await jobRow(db, jobId)).error_code).toBe('lease_expired');
  });

  it('schedules a retryable failure after a backoff and fails for good when attempts run out', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0], { maxRetries: 1, retryBaseMs: 4000, retryMaxMs: 60000 }));
    await claimJobs(db, 'w', 30);
    const before = Date.now();
    expect(await failJob(db, jobId, 'w', { code: 'overloaded', message: 'Overloaded', retryable: true, usage })).toBe(
      'pending',
    );
    const retry = await jobRow(db, jobId);
    const delay = (retry.run_after as Date).getTime() - before;
    // Exponential with equal jitter: attempt 1 waits between base/2 and base.
    expect(delay).toBeGreaterThanOrEqual(2000 - 1000);
    expect(delay).toBeLessThanOrEqual(4000 + 1000);
    expect(await claimJobs(db, 'w', 30)).toEqual([]);

    await db.query('update public.chapter_content_jobs set run_after = now() where id = $1', [jobId]);
    await claimJobs(db, 'w', 30);
    expect(
      await failJob(db, jobId, 'w', { code: 'overloaded', message: 'Overloaded again', retryable: true, usage }),
    ).toBe('failed');
    expect(await jobRow(db, jobId)).toMatchObject({
      status: 'failed',
      error_message: 'Overloaded again',
      attempts: 2,
      output_tokens: 1600,
    });
  });

  it('fails a non-retryable error at once, and a manual retry queues it again', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    await claimJobs(db, 'w', 30);
    expect(
      await failJob(db, jobId, 'w', {
        code: 'invalid_request',
        message: 'max_tokens too large',
        retryable: false,
        usage,
      }),
    ).toBe('failed');
    expect(await retryJob(db, jobId, 'cm')).toBe('pending');
    const [claimed] = await claimJobs(db, 'w', 30);
    expect(claimed).toMatchObject({ id: jobId, attempts: 2, max_attempts: 4 });
  });

  it('releases a job on shutdown without spending an attempt', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    await claimJobs(db, 'w', 30);
    expect(await releaseJob(db, jobId, 'w', usage)).toBe('pending');
    expect(await jobRow(db, jobId)).toMatchObject({ status: 'pending', attempts: 0, lease_owner: null });
  });

  it('cancels a batch: pending jobs at once, running ones flagged', async () => {
    const { db } = test_;
    const { batchId } = await submitBatch(
      db,
      { name: 'b', createdBy: 't' },
      chapters.slice(0, 4).map((id) => newJob(id)),
    );
    await claimJobs(db, 'w', 30, 1);
    expect(await cancelBatch(db, batchId, 'cm')).toEqual({ cancelled: 3, stopping: 1 });
  });

  it('appends a job event on every transition; only new claimable work sends a NOTIFY, to wake workers', async () => {
    const { db } = test_;
    const notifications: { event: string; jobs: { status: string }[] }[] = [];
    const unlisten = await db.listen(JOBS_CHANNEL, (payload) => {
      notifications.push(JSON.parse(payload) as { event: string; jobs: { status: string }[] });
    });
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    await claimJobs(db, 'w', 30);
    await failJob(db, jobId, 'w', { code: 'overloaded', message: 'Overloaded', retryable: true, usage });
    await db.query('update public.chapter_content_jobs set run_after = now() where id = $1', [jobId]);
    await claimJobs(db, 'w', 30);
    await completeJob(db, jobId, 'w', { content: 'ok', stopReason: 'end_turn', usage });
    const cancelled = await submitJob(db, newJob(chapters[1]));
    await cancelJob(db, cancelled.jobId, 'cm');

    // The two submits; not the claims, the retry delayed into the future, the success or the cancel.
    await expect.poll(() => notifications.length).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await unlisten();
    expect(notifications).toEqual([
      { event: 'status', jobs: [{ status: 'pending' }] },
      { event: 'status', jobs: [{ status: 'pending' }] },
    ]);
    const events = await db.query<{ event: string; from_status: string | null; to_status: string }>(
      'select event, from_status, to_status from public.job_events where job_id = $1 order by id',
      [jobId],
    );
    expect(events.map((e) => `${e.from_status ?? '∅'}→${e.to_status}`)).toEqual([
      '∅→pending',
      'pending→running',
      'running→pending',
      'pending→running',
      'running→succeeded',
    ]);
  });

  it('writes one event per job from set-based claims, completions and failures, and the trigger still writes the rest', async () => {
    const { db } = test_;
    const { batchId } = await submitBatch(
      db,
      { name: 'events', createdBy: 'cm' },
      chapters.slice(0, 4).map((id) => newJob(id)),
    );
    const claimed = (await claimJobs(db, 'w', 30, 4)).map((job) => job.id);
    // One success, one refused (another worker's name), one retry, one failure, in one statement each.
    await completeJobs(db, [
      { jobId: claimed[0], workerId: 'w', content: 'ok', stopReason: 'end_turn', usage },
      { jobId: claimed[1], workerId: 'other', content: 'no', stopReason: 'end_turn', usage },
    ]);
    await failJobs(db, [
      { jobId: claimed[2], workerId: 'w', code: 'overloaded', message: 'Overloaded', retryable: true, usage },
      { jobId: claimed[3], workerId: 'w', code: 'invalid_request', message: 'Bad', retryable: false, usage },
    ]);
    // In the same transaction as a set-based claim, a status change by any other statement still
    // gets its event from the trigger.
    const pendingAgain = await db.transaction(async (tx) => {
      await tx.query('update public.chapter_content_jobs set run_after = now() where id = $1', [claimed[2]]);
      const [job] = await claimJobs(tx, 'w2', 30, 1);
      await tx.query(`update public.chapter_content_jobs set status = 'pending', lease_owner = null where id = $1`, [
        job.id,
      ]);
      return job.id;
    });
    expect(pendingAgain).toBe(claimed[2]);

    const events = await db.query<{
      job_id: string;
      transition: string;
      attempt: number;
      detail: Record<string, unknown>;
    }>(
      `select e.job_id, coalesce(e.from_status, '∅') || '→' || e.to_status as transition, e.attempt, e.detail
       from public.job_events e join public.chapter_content_jobs j on j.id = e.job_id
       where j.batch_id = $1 order by e.id`,
      [batchId],
    );
    const of = (jobId: string) =>
      events
        .filter((e) => e.job_id === jobId)
        .map((e) => ({ ...e, job_id: undefined, detail: { ...e.detail, run_after: undefined } }));
    expect(of(claimed[0])).toEqual([
      { transition: '∅→pending', attempt: 0, detail: {} },
      { transition: 'pending→running', attempt: 1, detail: { worker: 'w' } },
      { transition: 'running→succeeded', attempt: 1, detail: { worker: 'w', stop_reason: 'end_turn' } },
    ]);
    expect(of(claimed[1]).map((e) => e.transition)).toEqual(['∅→pending', 'pending→running']);
    expect(of(claimed[2])).toEqual([
      { transition: '∅→pending', attempt: 0, detail: {} },
      { transition: 'pending→running', attempt: 1, detail: { worker: 'w' } },
      {
        transition: 'running→pending',
        attempt: 1,
        detail: { worker: 'w', error_code: 'overloaded', error_message: 'Overloaded' },
      },
      // The claim keeps the last attempt's error on the row, and its event says so, as before.
      {
        transition: 'pending→running',
        attempt: 2,
        detail: { worker: 'w2', error_code: 'overloaded', error_message: 'Overloaded' },
      },
      {
        transition: 'running→pending',
        attempt: 2,
        detail: { worker: 'w2', error_code: 'overloaded', error_message: 'Overloaded' },
      },
    ]);
    expect(events.find((e) => e.job_id === claimed[2] && e.transition === 'running→pending')?.detail.run_after).toEqual(
      expect.any(String),
    );
    expect(of(claimed[3]).map((e) => [e.transition, e.detail])).toEqual([
      ['∅→pending', {}],
      ['pending→running', { worker: 'w' }],
      ['running→failed', { worker: 'w', error_code: 'invalid_request', error_message: 'Bad' }],
    ]);
  });

  it('deletes a job with its events and ledger rows, also when a deleted chapter or batch takes it', async () => {
    const { db } = test_;
    const single = await submitJob(db, newJob(chapters[0]));
    const { batchId } = await submitBatch(
      db,
      { name: 'doomed', createdBy: 'cm' },
      chapters.slice(1, 3).map((id) => newJob(id)),
    );
    const jobIds = (
      await db.query<{ id: string }>('select id from public.chapter_content_jobs where batch_id = $1', [batchId])
    ).map((row) => row.id);
    const kept = await submitJob(db, newJob(chapters[3]));
    await claimJobs(db, 'w', 30, 4);
    const left = async (ids: string[]) =>
      (
        await db.query<{ events: number; attempts: number }>(
          `select (select count(*)::int from public.job_events where job_id = any($1::uuid[])) as events,
                  (select count(*)::int from public.job_attempts where job_id = any($1::uuid[])) as attempts`,
          [ids],
        )
      )[0];
    expect(await left([single.jobId, ...jobIds])).toEqual({ events: 6, attempts: 3 });

    await db.query('delete from public.chapters where id = $1', [chapters[0]]);
    await db.query('delete from public.batches where id = $1', [batchId]);
    expect(await left([single.jobId, ...jobIds])).toEqual({ events: 0, attempts: 0 });
    expect(await left([kept.jobId])).toEqual({ events: 2, attempts: 1 });
  });

  it('records progress without a status event: no job_events row and no NOTIFY (the live feed polls)', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    await claimJobs(db, 'w', 30);
    const events = async () =>
      (await db.query<{ n: number }>('select count(*)::int as n from public.job_events where job_id = $1', [jobId]))[0]
        .n;
    const before = await events();
    const seen: string[] = [];
    const unlisten = await db.listen(JOBS_CHANNEL, (payload) => {
      seen.push((JSON.parse(payload) as { event: string }).event);
    });
    const write = { jobId, workerId: 'w', attempt: 1, usage };
    expect(await appendProgress(db, { ...write, offset: 0, text: '# Ch', outputTokens: 5 })).toBe(true);
    expect(await appendProgress(db, { ...write, offset: 4, text: 'apter one', outputTokens: 12 })).toBe(true);
    // A marker sent after the writes arrives after anything they sent: only the marker comes.
    await db.query(`select pg_notify($1, '{"event":"marker"}')`, [JOBS_CHANNEL]);
    await expect.poll(() => seen.length).toBeGreaterThan(0);
    await unlisten();
    expect(seen).toEqual(['marker']);
    expect(await events()).toBe(before);
    expect(await jobRow(db, jobId)).toMatchObject({
      status: 'running',
      progress_output_tokens: 12,
      progress_length: 13,
    });
    expect(await streamedText(db, jobId)).toBe('# Chapter one');
    // Another worker's progress for the job is refused and changes nothing.
    expect(
      await appendProgress(db, { ...write, workerId: 'someone-else', offset: 13, text: 'x', outputTokens: 99 }),
    ).toBe(false);
    expect(await jobRow(db, jobId)).toMatchObject({ progress_output_tokens: 12, progress_length: 13 });
    expect(await streamedText(db, jobId)).toBe('# Chapter one');
  });

  it('appends only what is new: a write sent again stores nothing twice, one that would leave a hole is refused', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    await claimJobs(db, 'w', 30);
    const append = (write: Pick<ProgressAppend, 'offset' | 'text' | 'outputTokens'>) =>
      appendProgress(db, { jobId, workerId: 'w', attempt: 1, ...write });

    expect(await append({ offset: 0, text: 'Once upon', outputTokens: 2 })).toBe(true);
    expect(await append({ offset: 9, text: ' a time', outputTokens: 4 })).toBe(true);
    // The same write again (its answer was lost and the worker sent it anew): nothing changes.
    expect(await append({ offset: 9, text: ' a time', outputTokens: 4 })).toBe(true);
    // Resent with what came after it: only the new part is stored.
    expect(await append({ offset: 9, text: ' a time, there', outputTokens: 6 })).toBe(true);
    // A report with no new text still moves the token count.
    expect(await append({ offset: 23, text: '', outputTokens: 7 })).toBe(true);
    expect(await streamedText(db, jobId)).toBe('Once upon a time, there');
    expect(await chunks(db, jobId)).toEqual([
      { start_offset: 0, text: 'Once upon' },
      { start_offset: 9, text: ' a time' },
      { start_offset: 16, text: ', there' },
    ]);
    expect(await jobRow(db, jobId)).toMatchObject({ progress_length: 23, progress_output_tokens: 7 });

    // Offsets count characters as PostgreSQL does, so a character outside the BMP is one.
    expect(await append({ offset: 23, text: ' was a 🐉', outputTokens: 9 })).toBe(true);
    expect(await append({ offset: 31, text: ' dragon', outputTokens: 10 })).toBe(true);
    expect(await streamedText(db, jobId)).toBe('Once upon a time, there was a 🐉 dragon');

    await expect(append({ offset: 99, text: 'lost', outputTokens: 11 })).rejects.toMatchObject({ code: 'SW416' });
    expect(await streamedText(db, jobId)).toBe('Once upon a time, there was a 🐉 dragon');
  });

  it('starts each attempt from empty text, refuses the writer of an earlier attempt, keeps the text of a failed one', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0], { maxRetries: 2, retryBackoff: 'none' }));
    const [first] = await claimJobs(db, 'w', 30);
    const firstAttempt = { jobId, workerId: 'w', attempt: first.attempts };
    expect(await appendProgress(db, { ...firstAttempt, offset: 0, text: 'First try', outputTokens: 3 })).toBe(true);

    // Its worker stalls, the reaper returns the job, the same worker (same id) claims it again.
    await db.query(
      `update public.chapter_content_jobs set lease_expires_at = now() - interval '1 second' where id = $1`,
      [jobId],
    );
    await reapExpiredLeases(db);
    // While it waits, what the dead attempt streamed stays visible.
    expect((await jobRow(db, jobId)).status).toBe('pending');
    expect(await streamedText(db, jobId)).toBe('First try');
    await db.query('update public.chapter_content_jobs set run_after = now() where id = $1', [jobId]);
    const [second] = await claimJobs(db, 'w', 30);
    expect(second.attempts).toBe(2);
    expect(await jobRow(db, jobId)).toMatchObject({ progress_length: 0, progress_output_tokens: 0 });
    expect(await streamedText(db, jobId)).toBeNull();

    // The stalled stream of the first attempt wakes up: refused, whatever offset it writes at.
    expect(await appendProgress(db, { ...firstAttempt, offset: 9, text: ', go on', outputTokens: 5 })).toBe(false);
    expect(await appendProgress(db, { ...firstAttempt, offset: 0, text: 'First try', outputTokens: 5 })).toBe(false);
    expect(await streamedText(db, jobId)).toBeNull();

    const secondAttempt = { jobId, workerId: 'w', attempt: second.attempts };
    expect(await appendProgress(db, { ...secondAttempt, offset: 0, text: 'Second', outputTokens: 2 })).toBe(true);
    expect(await failJob(db, jobId, 'w', { code: 'overloaded', message: 'busy', retryable: true, usage })).toBe(
      'pending',
    );
    expect(await streamedText(db, jobId)).toBe('Second');
    expect(await failJob(db, jobId, 'nobody', { code: 'x', message: 'x', retryable: false, usage })).toBeNull();

    // The last attempt fails for good: its text stays on the failed job's page.
    const [third] = await claimJobs(db, 'w', 30);
    expect(await streamedText(db, jobId)).toBeNull();
    const thirdAttempt = { jobId, workerId: 'w', attempt: third.attempts };
    expect(await appendProgress(db, { ...thirdAttempt, offset: 0, text: 'Third, cut', outputTokens: 3 })).toBe(true);
    expect(await failJob(db, jobId, 'w', { code: 'refused', message: 'no', retryable: false, usage })).toBe('failed');
    expect(await streamedText(db, jobId)).toBe('Third, cut');
  });

  it('drops the streamed text when the job succeeds (its content is the chapter version) or is deleted', async () => {
    const { db } = test_;
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    const [job] = await claimJobs(db, 'w', 30);
    const attempt = { jobId, workerId: 'w', attempt: job.attempts };
    expect(await appendProgress(db, { ...attempt, offset: 0, text: '# Done so', outputTokens: 3 })).toBe(true);
    expect(await appendProgress(db, { ...attempt, offset: 9, text: ' far', outputTokens: 4 })).toBe(true);
    const completed = await completeJobs(db, [
      { jobId, workerId: 'w', content: '# Done', stopReason: 'end_turn', usage },
    ]);
    expect(completed.get(jobId)).toBe(true);
    expect(await jobRow(db, jobId)).toMatchObject({ status: 'succeeded', progress_length: 0 });
    expect(await chunks(db, jobId)).toEqual([]);

    const deleted = (await submitJob(db, newJob(chapters[1]))).jobId;
    const [other] = await claimJobs(db, 'w', 30);
    const write = { jobId: deleted, workerId: 'w', attempt: other.attempts, offset: 0, text: 'x', outputTokens: 1 };
    expect(await appendProgress(db, write)).toBe(true);
    await db.query('delete from public.chapter_content_jobs where id = $1', [deleted]);
    expect(await chunks(db, deleted)).toEqual([]);
  });
});

/** A job's streamed text as its pages read it. */
async function streamedText(db: TestDatabase['db'], jobId: string): Promise<string | null> {
  const [row] = await db.query<{ text: string | null }>(
    `select ${STREAMED_TEXT_SQL} as text from public.chapter_content_jobs j where j.id = $1`,
    [jobId],
  );
  return row.text;
}

/** The stored pieces of a job's streamed text: each character stored once. */
function chunks(db: TestDatabase['db'], jobId: string) {
  return db.query<{ start_offset: number; text: string }>(
    'select start_offset, text from public.job_progress_chunks where job_id = $1 order by start_offset',
    [jobId],
  );
}
