import { json } from '@remix-run/node';

import { cronRoute } from '~/server/api-route.server';
import { drainWithRuntime } from '~/server/cache-invalidation.server';
import { analyseRollouts } from '~/server/services/rollout-analysis.server';
import { sweep } from '~/server/sweeper.server';

/** GET /api/cron/sweep — Vercel Cron (vercel.json) calls it every minute with CRON_SECRET. */
export const loader = cronRoute(async (runtime) => {
  const result = await sweep(runtime.db, runtime.wakeWorker, runtime.env.SWEEP_REWAKE_AFTER_SECONDS, runtime.fleet);
  const rollouts = await analyseRollouts(runtime);
  const cacheInvalidations = await drainWithRuntime(runtime);
  return json({ ...result, rollouts, cacheInvalidations }, { headers: { 'Cache-Control': 'no-store' } });
});
