import { timingSafeEqual } from 'node:crypto';

import { json, type LoaderFunctionArgs } from '@remix-run/node';

import { apiError } from '~/server/http.server';
import { getRuntime } from '~/server/runtime.server';
import { sweep } from '~/server/sweeper.server';

/** GET /api/cron/sweep — Vercel Cron (vercel.json) calls it every minute with CRON_SECRET. */
export async function loader({ request }: LoaderFunctionArgs) {
  const runtime = await getRuntime();
  const secret = runtime.env.CRON_SECRET;
  if (!secret) return apiError(404, 'not_found', 'The sweeper route is off: set CRON_SECRET to enable it.');
  const given = Buffer.from(request.headers.get('authorization') ?? '');
  const expected = Buffer.from(`Bearer ${secret}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return apiError(401, 'unauthorized', 'The sweeper needs Authorization: Bearer <CRON_SECRET>.');
  }
  const result = await sweep(runtime.db, runtime.wakeWorker, runtime.env.SWEEP_REWAKE_AFTER_SECONDS, {
    alertWebhookUrl: runtime.env.ALERT_WEBHOOK_URL,
  });
  return json(result, { headers: { 'Cache-Control': 'no-store' } });
}
