/**
 * `npm run worker` and the Cloud Run image: claims jobs from PostgreSQL and generates them.
 * Wakes on POST /wake (Cloud Run's dispatch), on NOTIFY of new jobs, and at start.
 */
import { batchClientFrom, createBatchDispatcher } from '../app/server/batch-dispatcher.server';
import { composeServices } from '../app/server/composition.server';
import { openPostgresFrom } from '../app/server/db/postgres.server';
import { parseWorkerEnv } from './env';
import { reportingPressure } from '../app/server/fleet.server';
import { createWorkerServer } from './http';
import { createWorkerMetrics } from './metrics';
import { createJobRunner } from './job-runner';
import { createWakeAuthenticator } from './wake-auth';

/** Cloud Run sends SIGKILL 10 s after SIGTERM. */
const SHUTDOWN_DEADLINE_MS = 9_000;

async function main() {
  let env;
  try {
    env = parseWorkerEnv(process.env);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
  const composed = composeServices(env, openPostgresFrom(env, 'switchyard-worker'), 'worker');
  // A 429/529 that outlasts the SDK's retries steps the whole fleet down (ADR 0016).
  const services = { ...composed, generator: reportingPressure(composed.generator, composed.db, composed.log) };
  const { db, generator, log } = services;
  let inFlight = () => 0;
  const metrics = createWorkerMetrics(
    () => inFlight(),
    () => db.listenerState(),
  );
  const runner = createJobRunner(services, env, metrics.observe);
  inFlight = () => runner.inFlight;
  await runner.start();
  // Batch-destination jobs go through the Message Batches API, not this runner (ADR 0020).
  const batches = createBatchDispatcher({
    db,
    client: batchClientFrom(env),
    prices: services.prices,
    log: log.child({ component: 'batch-dispatcher' }),
    lingerSeconds: env.BATCH_LINGER_SECONDS,
    firstPollSeconds: env.BATCH_POLL_SECONDS,
  });
  batches.start();
  const authenticate = createWakeAuthenticator({
    sharedSecret: env.WORKER_WAKE_SECRET,
    oidc: env.WORKER_OIDC_AUDIENCE
      ? {
          audience: env.WORKER_OIDC_AUDIENCE,
          allowedEmails: env.WORKER_INVOKER_EMAILS,
          certsUrl: env.WORKER_OIDC_CERTS_URL,
        }
      : undefined,
  });
  const server = createWorkerServer({
    db,
    runner,
    budgetMs: env.WORKER_BUDGET_SECONDS * 1000,
    authenticate,
    log,
    metrics: metrics.registry,
  });
  server.listen(env.PORT, () =>
    log.info('worker listening', { port: env.PORT, worker: runner.workerId, generator: generator.name }),
  );

  // Jobs scheduled for a retry become due without any NOTIFY; look for them now and then.
  // (On Cloud Run the sweeper's wake-ups do this, since idle instances get no CPU.)
  const poll = setInterval(() => {
    if (env.WORKER_IDLE_WAKE) void runner.wake(env.WORKER_BUDGET_SECONDS * 1000);
  }, 5000);
  poll.unref();

  const shutdown = async (signal: string) => {
    log.info('shutting down', { signal });
    const forced = setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS);
    forced.unref();
    clearInterval(poll);
    server.close();
    await Promise.all([runner.stop(), batches.stop()]);
    await db.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

void main();
