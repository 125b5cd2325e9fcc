import type { Queryable } from '../db/port.server';

/**
 * What the Costs page shows of spend control (ADR 0013): batches paused at their cap, every
 * capped or recent batch's estimate against its actual spend (from the attempt ledger), whether
 * the monthly budget pauses claims, and who resumed what.
 */
export async function presentSpendControls(db: Queryable, now = new Date()) {
  const [batches, [budget], resumes] = await Promise.all([
    db.query<{
      id: string;
      name: string;
      job_count: number;
      created_at: Date;
      max_cost_micros: number | null;
      estimate_micros: number | null;
      actual_micros: number;
      unpriced: number;
      paused_at: Date | null;
      paused_reason: string | null;
      pending: number;
    }>(
      `select b.id, b.name, b.job_count, b.created_at, b.max_cost_micros, b.estimate_micros, b.paused_at,
              b.paused_reason,
              coalesce((select sum(a.cost_total_micros) from public.job_attempts a where a.batch_id = b.id), 0) as actual_micros,
              (select count(*) from public.job_attempts a where a.batch_id = b.id and a.unpriced) as unpriced,
              (select count(*) from public.chapter_content_jobs j where j.batch_id = b.id and j.status = 'pending') as pending
       from public.batches b
       where b.paused_at is not null or b.created_at > $1::timestamptz - interval '30 days'
       order by b.paused_at is null, b.created_at desc, b.id
       limit 20`,
      [now],
    ),
    db.query<{ amount_micros: number; reached_at: Date | null; resumed_at: Date | null; resumed_by: string | null }>(
      `select amount_micros, reached_at, resumed_at, resumed_by from public.cost_budgets
       where month = date_trunc('month', $1::timestamptz at time zone 'utc')::date`,
      [now],
    ),
    db.query<{
      actor: string;
      action: string;
      target_id: string | null;
      occurred_at: Date;
      detail: Record<string, unknown>;
    }>(
      `select actor, action, target_id, occurred_at, detail from public.audit_log
       where action in ('batch.resume', 'batch.cap', 'budget.resume')
       order by occurred_at desc, id desc limit 10`,
    ),
  ]);
  return {
    batches: batches.map((batch) => {
      const actual = Number(batch.actual_micros);
      const cap = batch.max_cost_micros === null ? null : Number(batch.max_cost_micros);
      return {
        id: batch.id,
        name: batch.name,
        jobs: batch.job_count,
        createdAt: batch.created_at,
        capMicros: cap,
        estimateMicros: batch.estimate_micros === null ? null : Number(batch.estimate_micros),
        actualMicros: actual,
        unpricedAttempts: Number(batch.unpriced),
        /** Spent beyond the cap by attempts that were already running when it was reached. */
        overshootMicros: cap !== null && actual > cap ? actual - cap : 0,
        pausedAt: batch.paused_at,
        pausedReason: batch.paused_reason,
        pending: Number(batch.pending),
      };
    }),
    budgetPaused: Boolean(budget?.reached_at && !budget.resumed_at),
    budgetResumed: budget?.resumed_at ? { at: budget.resumed_at, by: budget.resumed_by } : null,
    resumes: resumes.map((entry) => ({
      actor: entry.actor,
      action: entry.action,
      batchId: entry.target_id,
      at: entry.occurred_at,
    })),
  };
}
