import { composeServices, type Services } from './composition.server';
import { openDatabase } from './db/open.server';
import type { Database } from './db/port.server';
import { createHttpWakeUp } from './dispatch.server';
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
  /** Nudges a worker to claim new jobs. Never required for correctness: jobs are durable. */
  wakeWorker: () => void;
}

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
        onError: (error) => log.warn('worker wake-up failed; the sweeper will retry', { error: error.message }),
      })
    : undefined;
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
      void remote?.wake();
    },
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
