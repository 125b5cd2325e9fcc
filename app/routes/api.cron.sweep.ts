import { json } from '@remix-run/node';

import { cronRoute } from '~/server/api-route.server';
import { sweepOnce } from '~/server/services/sweep.server';

/** GET /api/cron/sweep — Vercel Cron (vercel.json) calls it every minute with CRON_SECRET. */
export const loader = cronRoute(async (runtime) =>
  json(await sweepOnce(runtime), { headers: { 'Cache-Control': 'no-store' } }),
);
