import { mkdir } from 'node:fs/promises';

import type { AppEnv } from '../env.server';
import { openPglite } from './pglite.server';
import type { Database } from './port.server';
import { openPostgres } from './postgres.server';

/** How the app (env.server.ts) and the worker (worker/env.ts) say where the database is. */
export interface DatabaseSettings {
  DATABASE_URL?: string;
  DATABASE_LISTEN_URL?: string;
  DATABASE_POOL_SIZE: number;
  /** The embedded database's folder; the worker has none (it always needs DATABASE_URL). */
  PGLITE_DATA_DIR?: string;
}

/**
 * PostgreSQL when DATABASE_URL is set; otherwise the embedded PGlite under PGLITE_DATA_DIR.
 * Both processes open their database here.
 */
export async function openDatabase(
  env: DatabaseSettings,
  options: { applicationName?: string } = {},
): Promise<Database> {
  if (env.DATABASE_URL) {
    return openPostgres({
      connectionString: env.DATABASE_URL,
      listenConnectionString: env.DATABASE_LISTEN_URL,
      poolSize: env.DATABASE_POOL_SIZE,
      applicationName: options.applicationName,
    });
  }
  if (!env.PGLITE_DATA_DIR) throw new Error('No database configured: set DATABASE_URL.');
  await mkdir(env.PGLITE_DATA_DIR, { recursive: true });
  return openPglite(env.PGLITE_DATA_DIR);
}

export function describeDatabase(env: Pick<AppEnv, 'DATABASE_URL' | 'PGLITE_DATA_DIR'>): string {
  if (!env.DATABASE_URL) return `embedded PGlite in ${env.PGLITE_DATA_DIR}`;
  const url = new URL(env.DATABASE_URL);
  return `PostgreSQL at ${url.hostname}:${url.port || 5432}${url.pathname}`;
}
