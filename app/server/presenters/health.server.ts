import type { Database } from '../db/port.server';
import { pendingMigrations } from '../db/migrate.server';

export interface Health {
  ok: boolean;
  database: 'reachable' | 'unreachable';
  databaseKind: Database['kind'];
  pendingMigrations: string[];
  error?: string;
}

/** Healthy = the database answers and every migration in supabase/migrations is applied. */
export async function checkHealth(db: Database): Promise<Health> {
  try {
    await db.query('select 1');
  } catch (error) {
    return {
      ok: false,
      database: 'unreachable',
      databaseKind: db.kind,
      pendingMigrations: [],
      error: (error as Error).message,
    };
  }
  const pending = await pendingMigrations(db);
  return { ok: pending.length === 0, database: 'reachable', databaseKind: db.kind, pendingMigrations: pending };
}
