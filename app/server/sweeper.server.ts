import type { Database } from './db/port.server';
import type { Fleet } from './fleet.server';
import { createLogger } from './log.server';
import { countOverdueJobs, reapExpiredLeases } from './queue.server';
import { deliverSpendAlerts } from './spend-alerts.server';

export interface SweepResult {
  reaped: number;
  requeued: number;
  failed: number;
  overdue: number;
  woke: boolean;
  /** With a fleet: what this sweep's reconcile wanted, found in flight and sent. */
  fleet?: { desired: number; inFlight: number; sent: number; pressureLimit: number | null };
}

/**
 * One sweep: expired leases go back to the queue (or fail when their attempts are spent), and
 * when anything waits — reaped, or pending longer than `rewakeAfterSeconds` — the worker is
 * woken again; and the daily cost and latency rollups of the last two days are rebuilt. Runs every minute as a Vercel Cron job, and on a timer locally.
 * With a Cloud Run fleet, every sweep reconciles it instead: the wake-ups in flight are topped up
 * to what is runnable now (none while nothing is), so a batch keeps the fleet at its size.
 */
export async function sweep(
  db: Database,
  wake: () => void,
  rewakeAfterSeconds: number,
  options: { fleet?: Fleet | null; alertWebhookUrl?: string } = {},
): Promise<SweepResult> {
  const reaped = await reapExpiredLeases(db);
  // Yesterday's rollup is rebuilt too: jobs finishing just before midnight land after the last sweep.
  await db.query(`select public.refresh_job_rollups(((now() at time zone 'utc')::date - 1))`);
  // The refresh also checks the month's spend against the budget; its alerts go out here.
  if (options.alertWebhookUrl)
    await deliverSpendAlerts(db, options.alertWebhookUrl, createLogger({ component: 'spend-alerts' }));
  const overdue = await countOverdueJobs(db, rewakeAfterSeconds);
  const requeued = reaped.filter((job) => job.status === 'pending').length;
  const failed = reaped.filter((job) => job.status === 'failed').length;
  const { fleet } = options;
  if (fleet) {
    await db.query('select public.prune_worker_wakeups()');
    const dispatch = await fleet.reconcile();
    const sent = dispatch?.wakeupIds.length ?? 0;
    return {
      reaped: reaped.length,
      requeued,
      failed,
      overdue,
      woke: sent > 0,
      fleet: dispatch
        ? { desired: dispatch.desired, inFlight: dispatch.openBefore, sent, pressureLimit: dispatch.pressureLimit }
        : undefined,
    };
  }
  const woke = requeued > 0 || overdue > 0;
  if (woke) wake();
  return { reaped: reaped.length, requeued, failed, overdue, woke };
}
