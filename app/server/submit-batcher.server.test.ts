import { isIdempotencyKeyReused, jobJson, submitJob } from './queue.server';
import { SUBMIT_BATCH_MAX, submitJobBatched } from './submit-batcher.server';
import { databaseTargets, type TestDatabase } from '../../test/support/databases';
import { newJob, seededChapterIds } from '../../test/support/fixtures';

describe.each(databaseTargets())('micro-batched submits on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
  });
  afterEach(async () => {
    await test_.drop();
  });

  /**
   * The transaction that wrote each committed (visible) job, told by its created_at: now(), the
   * transaction's start to the microsecond. (Not xmin: each job is written in a subtransaction.)
   */
  async function committedBy(ids: string[]) {
    const rows = await test_.db.query<{ id: string; tx: string }>(
      `select id, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.US') as tx
       from public.chapter_content_jobs where id = any($1::uuid[])`,
      [ids],
    );
    return new Map(rows.map((row) => [row.id, row.tx]));
  }

  it('shares one transaction among concurrent submits, each committed when its promise resolves', async () => {
    const { db } = test_;
    const seenCommitted: boolean[] = [];
    const ids = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const { jobId, created } = await submitJobBatched(db, newJob(chapters[i % chapters.length]));
        expect(created).toBe(true);
        // Asked at once, on the pool: the row is there, so a 202 sent now is not a promise broken.
        seenCommitted.push((await committedBy([jobId])).has(jobId));
        return jobId;
      }),
    );
    expect(seenCommitted).toEqual(Array(10).fill(true));
    expect(new Set((await committedBy(ids)).values()).size).toBe(1);
    const [events] = await db.query<{ n: number }>(
      `select count(*)::int as n from public.job_events where job_id = any($1::uuid[]) and event = 'submitted'`,
      [ids],
    );
    expect(events.n).toBe(10);
  });

  it('fails only the caller whose job is refused: a reused idempotency key, an unknown chapter', async () => {
    const { db } = test_;
    await submitJob(db, newJob(chapters[0], { idempotencyKey: 'k1', idempotencyFingerprint: 'first' }));
    const results = await Promise.allSettled([
      submitJobBatched(db, newJob(chapters[1])),
      submitJobBatched(db, newJob(chapters[2], { idempotencyKey: 'k1', idempotencyFingerprint: 'other' })),
      submitJobBatched(db, newJob('00000000-0000-4000-8000-000000000000')),
      submitJobBatched(db, newJob(chapters[3])),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(isIdempotencyKeyReused((results[1] as PromiseRejectedResult).reason)).toBe(true);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: '23503' });
    const ok = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value.jobId] : []));
    const committed = await committedBy(ok);
    expect(committed.size).toBe(2);
    expect(new Set(committed.values()).size).toBe(1);
    const [count] = await db.query<{ n: number }>('select count(*)::int as n from public.chapter_content_jobs');
    expect(count.n).toBe(3);
  });

  it('answers a burst with no failing job from one insert: a reused key refused, a replayed key answered', async () => {
    const { db } = test_;
    const first = await submitJob(db, newJob(chapters[0], { idempotencyKey: 'k1', idempotencyFingerprint: 'first' }));
    const results = await Promise.allSettled([
      submitJobBatched(db, newJob(chapters[1], { idempotencyKey: 'k2', idempotencyFingerprint: 'mine' })),
      submitJobBatched(db, newJob(chapters[2], { idempotencyKey: 'k1', idempotencyFingerprint: 'other' })),
      submitJobBatched(db, newJob(chapters[0], { idempotencyKey: 'k1', idempotencyFingerprint: 'first' })),
      submitJobBatched(db, newJob(chapters[3])),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(isIdempotencyKeyReused((results[1] as PromiseRejectedResult).reason)).toBe(true);
    expect((results[2] as PromiseFulfilledResult<unknown>).value).toEqual({ jobId: first.jobId, created: false });
    const created = [results[0], results[3]].map(
      (result) => (result as PromiseFulfilledResult<{ jobId: string; created: boolean }>).value,
    );
    expect(created.map((result) => result.created)).toEqual([true, true]);
    expect(new Set((await committedBy(created.map((result) => result.jobId))).values()).size).toBe(1);
    // The new job keeps its key's fingerprint, so a later replay with another request is refused.
    const [stored] = await db.query<{ idempotency_fingerprint: string | null }>(
      'select idempotency_fingerprint from public.chapter_content_jobs where id = $1',
      [created[0].jobId],
    );
    expect(stored.idempotency_fingerprint).toBe('mine');
    const [count] = await db.query<{ n: number }>('select count(*)::int as n from public.chapter_content_jobs');
    expect(count.n).toBe(3);
  });

  it('answers a burst of new submits without reading the jobs already queued', async () => {
    const { db } = test_;
    await Promise.all(Array.from({ length: 200 }, (_, i) => submitJob(db, newJob(chapters[i % chapters.length]))));
    const reads = await db.transaction(async (tx) => {
      const burst = chapters.slice(0, 4).map((chapter) => jobJson(newJob(chapter)));
      await tx.query('select * from public.submit_jobs($1)', [JSON.stringify(burst)]);
      // This transaction's own scans: a scan of the table, or lookups by idempotency key.
      const [row] = await tx.query<{ table_scans: number; key_lookups: number }>(
        `select pg_stat_get_xact_numscans('public.chapter_content_jobs'::regclass)::int as table_scans,
                pg_stat_get_xact_numscans('public.chapter_content_jobs_idempotency_key'::regclass)::int as key_lookups`,
      );
      return row;
    });
    // Reading the queue per burst cost the database more than the inserts as the table grew (issue 18).
    expect(reads).toEqual({ table_scans: 0, key_lookups: 0 });
  });

  it('answers a key repeated inside one burst with the same job, created once', async () => {
    const { db } = test_;
    const job = newJob(chapters[0], { idempotencyKey: 'same', idempotencyFingerprint: 'f' });
    const [a, b] = await Promise.all([submitJobBatched(db, job), submitJobBatched(db, job)]);
    expect(a.jobId).toBe(b.jobId);
    expect([a.created, b.created].sort()).toEqual([false, true]);
  });

  it(`splits a burst larger than ${SUBMIT_BATCH_MAX} into transactions of at most ${SUBMIT_BATCH_MAX}`, async () => {
    const { db } = test_;
    const results = await Promise.all(
      Array.from({ length: SUBMIT_BATCH_MAX * 2 + 1 }, (_, i) =>
        submitJobBatched(db, newJob(chapters[i % chapters.length])),
      ),
    );
    const perTransaction = new Map<string, number>();
    for (const tx of (await committedBy(results.map((r) => r.jobId))).values())
      perTransaction.set(tx, (perTransaction.get(tx) ?? 0) + 1);
    expect(Math.max(...perTransaction.values())).toBeLessThanOrEqual(SUBMIT_BATCH_MAX);
    expect([...perTransaction.values()].reduce((a, b) => a + b)).toBe(SUBMIT_BATCH_MAX * 2 + 1);
  });
});
