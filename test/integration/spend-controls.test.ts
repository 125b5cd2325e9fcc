import { createApiToken } from '../../app/server/auth/api-tokens.server';
import {
  claimJobs,
  completeJob,
  setBatchCap,
  submitBatch,
  submitJob,
  type AttemptUsage,
} from '../../app/server/queue.server';
import { setMonthlyBudget } from '../../app/server/services/budget.server';
import { resumeBatchSpending, resumeMonthlyBudget } from '../../app/server/services/spend-control.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { newJob, seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

/** Every job here is estimated at E and, when it runs, costs exactly `cost`. */
const E = 10_000;
const spend = (cost: number): AttemptUsage => ({
  generator: 'anthropic',
  inputTokens: 1,
  outputTokens: 1,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 0,
  busyMs: 1,
  costMicros: { input: 0, output: cost, cacheWrite: 0, cacheRead: 0, cloudRun: 0, vercel: 0 },
});

async function cappedBatch(db: TestDatabase['db'], chapters: string[], jobs: number, capMicros: number | null) {
  const { batchId } = await submitBatch(
    db,
    { name: 'capped', createdBy: 'cm@example.com' },
    chapters.slice(0, jobs).map((id) => newJob(id)),
  );
  await setBatchCap(db, batchId, capMicros, E);
  return batchId;
}

const batchRow = async (db: TestDatabase['db'], id: string) =>
  (
    await db.query<{
      paused_at: Date | null;
      paused_reason: string | null;
      spent_micros: number;
      running: number;
      max_cost_micros: number | null;
    }>(
      `select b.paused_at, b.paused_reason, b.max_cost_micros,
              (select coalesce(sum(a.cost_total_micros), 0)::integer from public.job_attempts a
               where a.batch_id = b.id and a.ended_at is not null) as spent_micros,
              (select count(*)::integer from public.job_attempts a where a.batch_id = b.id and a.ended_at is null) as running
       from public.batches b where b.id = $1`,
      [id],
    )
  )[0];

const statusCounts = async (db: TestDatabase['db'], batchId: string) =>
  Object.fromEntries(
    (
      await db.query<{ status: string; n: number }>(
        'select status, count(*)::integer as n from public.chapter_content_jobs where batch_id = $1 group by status',
        [batchId],
      )
    ).map((row) => [row.status, row.n]),
  );

describe.each(databaseTargets().filter((target) => target.name === 'postgres'))(
  'batch caps under concurrent claimers on $name',
  (target) => {
    let test_: TestDatabase;
    beforeEach(async () => {
      test_ = await target.create();
    });
    afterEach(() => test_.drop());

    it('never lets racing workers claim past a batch cap', async () => {
      const chapters = await seededChapterIds(test_.db);
      // Room for exactly 5 jobs' estimates; 8 workers race for 12 jobs, several at a time.
      const batchId = await cappedBatch(test_.db, chapters, 12, 5 * E);
      const claimed = (
        await Promise.all(Array.from({ length: 8 }, (_, w) => claimJobs(test_.db, `w${w}`, 30, 1 + (w % 3))))
      ).flat();
      expect(claimed).toHaveLength(5);
      expect((await batchRow(test_.db, batchId)).running).toBe(5);

      // They finish at their estimate, and the next racing round finds the batch at its cap.
      await Promise.all(
        claimed.map((job) =>
          completeJob(test_.db, job.id, job.lease_owner!, { content: '# c', stopReason: 'end_turn', usage: spend(E) }),
        ),
      );
      const again = (
        await Promise.all(Array.from({ length: 8 }, (_, w) => claimJobs(test_.db, `v${w}`, 30, 2)))
      ).flat();
      expect(again).toHaveLength(0);
      const batch = await batchRow(test_.db, batchId);
      expect(batch).toMatchObject({ spent_micros: 5 * E, running: 0 });
      expect(batch.paused_at).not.toBeNull();
      expect(await statusCounts(test_.db, batchId)).toEqual({ succeeded: 5, pending: 7 });
    });
  },
);

describe.each(databaseTargets())('spend controls on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let chapters: string[];

  beforeEach(async () => {
    test_ = await target.create();
    app = await createTestApp(test_.db);
    chapters = await seededChapterIds(test_.db);
  });
  afterEach(() => test_.drop());

  it('pauses a batch at its cap with the reason shown, and finance resumes it once (audited)', async () => {
    const batchId = await cappedBatch(test_.db, chapters, 4, 2 * E);
    const other = (await submitJob(test_.db, newJob(chapters[10]))).jobId;
    // The second attempt overshoots its estimate (long chapters do): 2E spent of the 2E cap.
    for (const [worker, cost] of [
      ['w1', E - 500],
      ['w2', E + 500],
    ] as const) {
      const [job] = await claimJobs(test_.db, worker, 30);
      expect(job.batch_id).toBe(batchId);
      await completeJob(test_.db, job.id, worker, { content: '# c', stopReason: 'end_turn', usage: spend(cost) });
    }
    // The batch's next job no longer fits: the claim pauses it and takes the job behind it.
    const [next] = await claimJobs(test_.db, 'w3', 30);
    expect(next.id).toBe(other);
    const paused = await batchRow(test_.db, batchId);
    expect(paused.paused_at).not.toBeNull();
    expect(paused.paused_reason).toContain('$0.02 of its $0.02 cap');
    expect(await statusCounts(test_.db, batchId)).toEqual({ succeeded: 2, pending: 2 });
    const [alert] = await test_.db.query<{ kind: string; message: string }>(
      'select kind, message from public.spend_alerts',
    );
    expect(alert).toMatchObject({ kind: 'batch_paused' });

    expect(await resumeBatchSpending(test_.db, 'finance@example.com', batchId)).toEqual({ kind: 'resumed' });
    expect(await resumeBatchSpending(test_.db, 'finance@example.com', batchId)).toMatchObject({
      kind: 'not_paused',
      message: 'This batch is not paused; nothing changed.',
    });
    const audits = await test_.db.query<{ actor: string; detail: { cap_lifted_micros: number } }>(
      "select actor, detail from public.audit_log where action = 'batch.resume'",
    );
    expect(audits).toMatchObject([{ actor: 'finance@example.com', detail: { cap_lifted_micros: 2 * E } }]);
    expect(await claimJobs(test_.db, 'w4', 30, 5)).toHaveLength(2);
  });

  it('pauses claims of non-high jobs at the monthly budget, until finance resumes them', async () => {
    const normal = (await submitJob(test_.db, newJob(chapters[0]))).jobId;
    const [job] = await claimJobs(test_.db, 'w1', 30);
    expect(job.id).toBe(normal);
    await completeJob(test_.db, normal, 'w1', { content: '# c', stopReason: 'end_turn', usage: spend(3 * E) });
    const low = (await submitJob(test_.db, newJob(chapters[1], { priority: 'low' }))).jobId;
    const high = (await submitJob(test_.db, newJob(chapters[2], { priority: 'high' }))).jobId;
    const later = (await submitJob(test_.db, newJob(chapters[3]))).jobId;

    // A budget below what is spent: paused at once.
    await setMonthlyBudget(test_.db, 'finance@example.com', 2 * E);
    const claimed = await claimJobs(test_.db, 'w2', 30, 10);
    expect(claimed.map((row) => row.id)).toEqual([high]);
    const alerts = await test_.db.query<{ kind: string }>('select kind from public.spend_alerts order by kind');
    expect(alerts.map((row) => row.kind)).toEqual(['budget_100', 'budget_50', 'budget_80']);
    // Sent once per threshold: checking again adds nothing.
    await test_.db.query(`select public.refresh_job_rollups(((now() at time zone 'utc')::date - 1))`);
    expect(await test_.db.query('select 1 from public.spend_alerts')).toHaveLength(3);

    expect(await resumeMonthlyBudget(test_.db, 'finance@example.com')).toEqual({ kind: 'resumed' });
    expect((await resumeMonthlyBudget(test_.db, 'finance@example.com')).kind).toBe('not_paused');
    expect((await claimJobs(test_.db, 'w3', 30, 10)).map((row) => row.id).sort()).toEqual([later, low].sort());
  });

  it('takes max_cost_usd in the batch API and refuses a bad one naming the field, writing nothing', async () => {
    const admin = await app.staffSession('admin');
    const { token } = await createApiToken(
      test_.db,
      { id: admin.id, email: admin.email, displayName: 'a', role: 'admin' },
      { name: 'CMS', scopes: ['submit', 'read'] },
    );
    const post = (body: unknown) =>
      app.request('/api/content/batch-generate', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    for (const bad of [0, -5, 'ten', 1_000_001, null]) {
      const response = await post({ chapter_ids: chapters.slice(0, 2), max_cost_usd: bad });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { fields: Record<string, string[]> } };
      expect(Object.keys(body.error.fields)).toEqual(['max_cost_usd']);
    }
    expect(await test_.db.query('select 1 from public.batches')).toHaveLength(0);

    const ok = await post({ chapter_ids: chapters.slice(0, 2), max_cost_usd: 12.5, max_tokens: 1000 });
    expect(ok.status).toBe(202);
    const [batch] = await test_.db.query<{
      max_cost_micros: number;
      job_estimate_micros: number;
      estimate_micros: number;
    }>('select max_cost_micros, job_estimate_micros, estimate_micros from public.batches');
    expect(Number(batch.max_cost_micros)).toBe(12_500_000);
    expect(Number(batch.job_estimate_micros)).toBeGreaterThan(0);
    expect(Number(batch.estimate_micros)).toBe(2 * Number(batch.job_estimate_micros));
  });
  it('refuses bad caps on the Queue and Costs pages naming the field, and says when nothing is paused', async () => {
    const cm = await app.staffSession('content_manager');
    for (const bad of ['0', '-1', 'abc', '1000001']) {
      const response = await app.request('/submit?_data=routes/submit', {
        method: 'POST',
        cookie: cm.cookie,
        body: app.form({ mode: 'batch', chapter_ids: chapters.slice(0, 2), max_cost_usd: bad }),
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { fields: Record<string, string[]> };
      expect(Object.keys(body.fields)).toEqual(['max_cost_usd']);
    }
    expect(await test_.db.query('select 1 from public.batches')).toHaveLength(0);
    const queued = await app.request('/submit', {
      method: 'POST',
      cookie: cm.cookie,
      body: app.form({ mode: 'batch', chapter_ids: chapters.slice(0, 2), max_cost_usd: '3.50' }),
    });
    expect(queued.status).toBe(302);
    const [batch] = await test_.db.query<{ id: string; max_cost_micros: number }>(
      'select id, max_cost_micros from public.batches',
    );
    expect(Number(batch.max_cost_micros)).toBe(3_500_000);

    const finance = await app.staffSession('finance');
    const costs = (fields: Record<string, string>) =>
      app.request('/costs?_data=routes/costs', { method: 'POST', cookie: finance.cookie, body: app.form(fields) });
    const bad = await costs({ intent: 'cap', batch_id: batch.id, max_cost_usd: '0' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { fields: Record<string, string[]> }).fields).toHaveProperty('max_cost_usd');
    const noop = await costs({ intent: 'resume-batch', batch_id: batch.id });
    expect(noop.status).toBe(200);
    expect(((await noop.json()) as { message: string }).message).toBe('This batch is not paused; nothing changed.');
    const raised = await costs({ intent: 'cap', batch_id: batch.id, max_cost_usd: '5' });
    expect(((await raised.json()) as { message: string }).message).toContain('The cap is now $5.00');
    // Only finance and admin may change spending.
    expect(
      (
        await app.request('/costs', {
          method: 'POST',
          cookie: cm.cookie,
          body: app.form({ intent: 'resume-batch', batch_id: batch.id }),
        })
      ).status,
    ).toBe(403);
    expect(await test_.db.query("select 1 from public.audit_log where action = 'batch.cap'")).toHaveLength(1);
  });
});
