import { audit } from '../audit.server';
import type { Database } from '../db/port.server';
import { checkSpend, resumeBatch, setBatchCap } from '../queue.server';

/**
 * Finance's levers on spending (ADR 0013): resume a batch paused at its cap, change a batch's
 * cap, resume claims paused by the monthly budget. Each is audited in the transaction that
 * makes it; resuming something that is not paused changes nothing and says so.
 */

export type ResumeResult = { kind: 'resumed' } | { kind: 'not_paused'; message: string } | { kind: 'not_found' };

/** Resumes a batch paused at its cap; its cap is lifted (what it spent stays on the Costs page). */
export async function resumeBatchSpending(db: Database, actor: string, batchId: string): Promise<ResumeResult> {
  return db.transaction(async (tx) => {
    const [before] = await tx.query<{
      max_cost_micros: number | null;
      spent_micros: number;
      paused_reason: string | null;
    }>(
      `select b.max_cost_micros, b.paused_reason,
              (select coalesce(sum(a.cost_total_micros), 0) from public.job_attempts a where a.batch_id = b.id) as spent_micros
       from public.batches b where b.id = $1`,
      [batchId],
    );
    const outcome = await resumeBatch(tx, batchId);
    if (outcome === null) return { kind: 'not_found' } as const;
    if (outcome === 'not_paused')
      return { kind: 'not_paused', message: 'This batch is not paused; nothing changed.' } as const;
    await audit(tx, {
      actor,
      action: 'batch.resume',
      targetType: 'batch',
      targetId: batchId,
      detail: {
        cap_lifted_micros: before.max_cost_micros,
        spent_micros: Number(before.spent_micros),
        reason: before.paused_reason,
      },
    });
    return { kind: 'resumed' } as const;
  });
}

/** Sets or raises a batch's cap; a paused batch whose next job fits under the new cap resumes. */
export async function changeBatchCap(
  db: Database,
  actor: string,
  batchId: string,
  maxCostMicros: number,
): Promise<{ kind: 'changed'; paused: boolean } | { kind: 'not_found' }> {
  return db.transaction(async (tx) => {
    const [exists] = await tx.query('select 1 from public.batches where id = $1', [batchId]);
    if (!exists) return { kind: 'not_found' } as const;
    const { paused } = await setBatchCap(tx, batchId, maxCostMicros, null);
    await audit(tx, {
      actor,
      action: 'batch.cap',
      targetType: 'batch',
      targetId: batchId,
      detail: { max_cost_micros: maxCostMicros, paused },
    });
    return { kind: 'changed', paused } as const;
  });
}

/** Lets claims of every priority continue this month although the budget is reached. */
export async function resumeMonthlyBudget(db: Database, actor: string): Promise<ResumeResult> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ amount_micros: number }>(
      `update public.cost_budgets set resumed_at = now(), resumed_by = $1
       where month = date_trunc('month', now() at time zone 'utc')::date and reached_at is not null and resumed_at is null
       returning amount_micros`,
      [actor],
    );
    if (rows.length === 0)
      return { kind: 'not_paused', message: 'Claims are not paused by the budget; nothing changed.' } as const;
    await audit(tx, {
      actor,
      action: 'budget.resume',
      targetType: 'budget',
      detail: { amount_micros: rows[0].amount_micros, spent_micros: await checkSpend(tx) },
    });
    return { kind: 'resumed' } as const;
  });
}
