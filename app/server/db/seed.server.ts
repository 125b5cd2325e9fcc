import { readFile } from 'node:fs/promises';
import path from 'node:path';

import type { Database } from './port.server';

export const SEED_FILE = path.resolve('supabase/seed.sql');

/** Loads the development data (supabase/seed.sql). Idempotent. */
export async function seed(db: Database): Promise<void> {
  await db.exec(await readFile(SEED_FILE, 'utf8'));
}

/** True when the database has no courses yet: a fresh embedded database to seed. */
export async function isEmpty(db: Database): Promise<boolean> {
  const [row] = await db.query<{ count: number }>('select count(*) as count from public.courses');
  return row.count === 0;
}
