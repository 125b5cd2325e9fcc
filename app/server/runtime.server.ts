import os from 'node:os';

import { composeServices, type Services } from './composition.server';
import { openDatabase } from './db/open.server';
import type { Database } from './db/port.server';
import { cloudRunFromEnv } from './cloud-run.server';
import { createHttpWakeUp } from './dispatch.server';
import { createFleet, maxInstancesSource, type Fleet } from './fleet.server';
import { createEdgeConfigStore, type EdgeConfigStore } from './edge-config.server';
import { getEnv, type AppEnv } from './env.server';

/**
 * What every loader and action needs: the services the worker has too (database, the generator
 * for the edge path, prices, logger), the configuration, and a way to wake the worker. One per
 * process, kept on globalThis because the Remix build and the server entry are separate module
 * graphs that must share one database (PGlite allows a single connection).
 */
export interface Runtime extends Services {
  env: AppEnv;
  /** Where routing config is published for the router to read; null: the database only. */
  edgeConfig: EdgeConfigStore | null;
  /**
   * Nudges workers to claim new jobs: the embedded worker, and the Cloud Run fleet scaled to
   * what is runnable. Never required for correctness: jobs are durable.
   */
  wakeWorker: () => void;
  /** The Cloud Run worker fleet, when WORKER_URL is set; null otherwise. */
  fleet: Fleet | null;
}

/** A Cloud Run wake-up may take this long to reach a worker, cold start included. */
const WAKE_PICKUP_SECONDS = 30;
/** Cloud Run's request timeout in worker/service.yaml; a held wake-up is let go after it. */
const WAKE_HOLD_MS = 900_000;

const RUNTIME = Symbol.for('switchyard.runtime');
type Holder = { [RUNTIME]?: Promise<Runtime> };

export function setRuntime(runtime: Runtime): void {
  (globalThis as Holder)[RUNTIME] = Promise.resolve(runtime);
}

/** Builds the runtime from configuration; `localWake` is the embedded worker, when there is one. */
export function createRuntime(env: AppEnv, db: Database, localWake?: () => void): Runtime {
  const services = composeServices(env, db, 'app');
  const log = services.log.child({ component: 'dispatch' });
  const remote = env.WORKER_URL
    ? createHttpWakeUp({
        workerUrl: env.WORKER_URL,
        auth:
          (env.WORKER_AUTH ?? (env.WORKER_WAKE_SECRET ? 'shared-secret' : 'google-id-token')) === 'shared-secret'
            ? { kind: 'shared-secret', secret: env.WORKER_WAKE_SECRET! }
            : { kind: 'google-id-token' },
        holdMs: WAKE_HOLD_MS,
        onError: (error) => log.warn('worker wake-up failed; the sweeper will retry', { error: error.message }),
      })
    : undefined;
  const cloudRun = cloudRunFromEnv(env);
  const fleet = remote
    ? createFleet({
        db,
        sender: `app-${os.hostname()}-${process.pid}`,
        maxInstances: maxInstancesSource(
          env.FLEET_MAX_INSTANCES,
          cloudRun
            ? async () => {
                // The service-level limit and the revision template's both bind: the smaller wins.
                const { service } = await cloudRun.read();
                const limits = [service.scaling.maxInstances, service.revisionScaling?.maxInstances ?? null];
                const set = limits.filter((limit): limit is number => limit !== null);
                return set.length > 0 ? Math.min(...set) : null;
              }
            : null,
        ),
        pickupSeconds: WAKE_PICKUP_SECONDS,
        send: remote.send,
        log,
      })
    : null;
  return {
    ...services,
    env,
    edgeConfig:
      env.EDGE_CONFIG && env.VERCEL_API_TOKEN
        ? createEdgeConfigStore({
            connectionString: env.EDGE_CONFIG,
            apiToken: env.VERCEL_API_TOKEN,
            apiUrl: env.VERCEL_API_URL,
            teamId: env.VERCEL_TEAM_ID,
          })
        : null,
    wakeWorker: () => {
      localWake?.();
      void fleet?.reconcile();
    },
    fleet,
  };
}

/**
 * The process's runtime. The server entry (`server.ts`) installs one after migrating; on a
 * platform that imports the build directly (Vercel), the first request opens the database.
 */
export function getRuntime(): Promise<Runtime> {
  const holder = globalThis as Holder;
  holder[RUNTIME] ??= (async () => {
    const env = getEnv();
    return createRuntime(env, await openDatabase(env));
  })();
  return holder[RUNTIME];
}
