import type { Queryable } from './db/port.server';
import type { Logger } from './log.server';

/**
 * Spend alerts (ADR 0013): rows the SQL raises (budget at 50/80/100 %, a batch paused at its
 * cap), shown to finance and admin on every page and posted to ALERT_WEBHOOK_URL as
 * Slack-compatible JSON (`{"text": …}`, which Slack, Mattermost and Teams' Slack-compatible
 * endpoints accept).
 */

export interface SpendAlert {
  id: number;
  kind: 'budget_50' | 'budget_80' | 'budget_100' | 'batch_paused' | 'rollout_rolled_back';
  message: string;
  batch_id: string | null;
  created_at: Date;
}

/** The alerts of the last week, newest first, for the banner. */
export function recentSpendAlerts(db: Queryable, limit = 3): Promise<SpendAlert[]> {
  return db.query<SpendAlert>(
    `select id, kind, message, batch_id, created_at from public.spend_alerts
     where created_at > now() - interval '7 days' order by created_at desc, id desc limit $1`,
    [limit],
  );
}

/** A claimed alert is not offered to another sweeper for this long (the POST has to finish first). */
const CLAIM_SECONDS = 120;
const POST_TIMEOUT_MS = 5_000;

/**
 * Posts the alerts not yet delivered, each once: an alert is claimed (SKIP LOCKED, so two
 * sweepers never send the same one), posted, and marked delivered; a failure is retried later,
 * backing off from 30 s to an hour. Never throws: a failing webhook must not stop the sweep.
 */
export async function deliverSpendAlerts(
  db: Queryable,
  webhookUrl: string,
  log: Logger,
  fetchImpl: typeof fetch = fetch,
): Promise<{ sent: number; failed: number }> {
  let sent = 0;
  let failed = 0;
  let due: { id: number; message: string; delivery_attempts: number }[];
  try {
    due = await db.query(
      `update public.spend_alerts a set next_attempt_at = now() + make_interval(secs => $1)
       from (select id from public.spend_alerts where delivered_at is null and next_attempt_at <= now()
             order by id limit 20 for update skip locked) d
       where a.id = d.id
       returning a.id, a.message, a.delivery_attempts`,
      [CLAIM_SECONDS],
    );
  } catch (error) {
    log.warn('spend alerts could not be read', { error: String(error) });
    return { sent, failed };
  }
  for (const alert of due.sort((a, b) => a.id - b.id)) {
    try {
      const response = await fetchImpl(webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: `Switchyard spend alert: ${alert.message}` }),
        signal: AbortSignal.timeout(POST_TIMEOUT_MS),
      });
      await response.body?.cancel().catch(() => undefined);
      if (!response.ok) throw new Error(`the webhook answered ${response.status}`);
      await db.query(
        'update public.spend_alerts set delivered_at = now(), delivery_attempts = delivery_attempts + 1, last_error = null where id = $1',
        [alert.id],
      );
      sent += 1;
    } catch (error) {
      failed += 1;
      const backoffSeconds = Math.min(30 * 2 ** alert.delivery_attempts, 3600);
      log.warn('spend alert webhook failed; it will be retried', { alert: alert.id, error: String(error) });
      await db
        .query(
          `update public.spend_alerts set delivery_attempts = delivery_attempts + 1, last_error = $2,
             next_attempt_at = now() + make_interval(secs => $3) where id = $1`,
          [alert.id, String(error).slice(0, 500), backoffSeconds],
        )
        .catch(() => undefined);
    }
  }
  return { sent, failed };
}
