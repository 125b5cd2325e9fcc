import { audit } from '../audit.server';
import type { Database } from '../db/port.server';
import { checkSpend } from '../queue.server';

/** Sets this month's (UTC) spending budget, replacing an earlier one; audited, and checked against the spend. */
export async function setMonthlyBudget(db: Database, actor: string, amountMicros: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `insert into public.cost_budgets (month, amount_micros, set_by)
       values (date_trunc('month', now() at time zone 'utc')::date, $1, $2)
       on conflict (month) do update set amount_micros = excluded.amount_micros, set_by = excluded.set_by, set_at = now()`,
      [amountMicros, actor],
    );
    await audit(tx, { actor, action: 'budget.set', targetType: 'budget', detail: { amount_micros: amountMicros } });
    // A budget set below what is spent pauses claims at once (and raises its alerts); one raised
    // above it lets them run again.
    await checkSpend(tx);
  });
}
