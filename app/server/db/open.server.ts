import { mkdir } from 'node:fs/promises';

import type { AppEnv } from '../env.server';
import { openPglite } from './pglite.server';
import type { Database } from './port.server';
import { openPostgresFrom } from './postgres.server';

/**
 * PostgreSQL when DATABASE_URL is set; otherwise the embedded PGlite under PGLITE_DATA_DIR.
 * (The standalone worker always has PostgreSQL and opens it with `openPostgresFrom`, so its
 * image carries no PGlite.)
 */
export async function openDatabase(
  env: Pick<AppEnv, 'DATABASE_URL' | 'DATABASE_LISTEN_URL' | 'DATABASE_POOL_SIZE' | 'PGLITE_DATA_DIR'>,
): Promise<Database> {
  if (env.DATABASE_URL) return openPostgresFrom({ ...env, DATABASE_URL: env.DATABASE_URL });
  await mkdir(env.PGLITE_DATA_DIR, { recursive: true });
  return openPglite(env.PGLITE_DATA_DIR);
}

export function describeDatabase(env: Pick<AppEnv, 'DATABASE_URL' | 'PGLITE_DATA_DIR'>): string {
  if (!env.DATABASE_URL) return `embedded PGlite in ${env.PGLITE_DATA_DIR}`;
  const url = new URL(env.DATABASE_URL);
  return `PostgreSQL at ${url.hostname}:${url.port || 5432}${url.pathname}`;
}
