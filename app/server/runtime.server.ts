import { getEnv, type AppEnv } from './env.server';
import { openDatabase } from './db/open.server';
import type { Database } from './db/port.server';

/**
 * What every loader and action needs: the configuration, the database, and a way to wake the
 * worker. One per process, kept on globalThis because the Remix build and the server entry are
 * separate module graphs that must share one database (PGlite allows a single connection).
 */
export interface Runtime {
  env: AppEnv;
  db: Database;
  /** Nudges a worker to claim new jobs. Never required for correctness: jobs are durable. */
  wakeWorker: () => void;
}

const RUNTIME = Symbol.for('switchyard.runtime');
type Holder = { [RUNTIME]?: Promise<Runtime> };

export function setRuntime(runtime: Runtime): void {
  (globalThis as Holder)[RUNTIME] = Promise.resolve(runtime);
}

/**
 * The process's runtime. The server entry (`server.ts`) installs one after migrating; on a
 * platform that imports the build directly (Vercel), the first request opens the database.
 */
export function getRuntime(): Promise<Runtime> {
  const holder = globalThis as Holder;
  holder[RUNTIME] ??= (async () => {
    const env = getEnv();
    return { env, db: await openDatabase(env), wakeWorker: () => undefined };
  })();
  return holder[RUNTIME];
}
