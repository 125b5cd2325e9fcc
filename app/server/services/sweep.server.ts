import { batchClientFrom, createBatchDispatcher, type BatchDispatcher } from '../batch-dispatcher.server';
import { drainWithRuntime } from '../cache-invalidation.server';
import type { Runtime } from '../runtime.server';
import { sweep } from '../sweeper.server';
import { analyseRollouts } from './rollout-analysis.server';

/**
 * One sweep of everything that runs on a clock: queue upkeep (leases, rollups, spend alerts,
 * the fleet's wake-ups), the due rollout decisions, and cache invalidations still to send. Vercel
 * Cron runs it every minute (`/api/cron/sweep`); `npm start` runs it on its own timer.
 */
export async function sweepOnce(runtime: Runtime) {
  // Rollouts first: a rollback's alert then goes out with this sweep's alerts, not the next one's.
  const rollouts = await analyseRollouts(runtime, runtime.log.child({ component: 'rollouts' }));
  const queue = await sweep(runtime.db, runtime.wakeWorker, runtime.env.SWEEP_REWAKE_AFTER_SECONDS, {
    fleet: runtime.fleet,
    alertWebhookUrl: runtime.env.ALERT_WEBHOOK_URL,
  });
  const cacheInvalidations = await drainWithRuntime(runtime);
  const batches = await batchDispatcherOf(runtime).tick();
  return { ...queue, rollouts, cacheInvalidations, batches };
}

const dispatchers = new WeakMap<Runtime, BatchDispatcher>();

/** The sweeper's nudge of the batch dispatcher: where no worker runs one (Vercel Cron alone), it still moves. */
function batchDispatcherOf(runtime: Runtime): BatchDispatcher {
  let dispatcher = dispatchers.get(runtime);
  if (!dispatcher) {
    dispatcher = createBatchDispatcher({
      db: runtime.db,
      client: batchClientFrom(runtime.env),
      prices: runtime.prices,
      log: runtime.log.child({ component: 'batch-dispatcher' }),
      lingerSeconds: runtime.env.BATCH_LINGER_SECONDS,
      firstPollSeconds: runtime.env.BATCH_POLL_SECONDS,
    });
    dispatchers.set(runtime, dispatcher);
  }
  return dispatcher;
}
