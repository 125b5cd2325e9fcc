import { describeListener, type Database, type ListenerState } from '../db/port.server';
import { pendingMigrations } from '../db/migrate.server';

export interface Health {
  ok: boolean;
  database: 'reachable' | 'unreachable';
  databaseKind: Database['kind'];
  pendingMigrations: string[];
  /**
   * The LISTEN connection. Not part of `ok`: while it reconnects or cannot deliver, jobs still
   * run and cancels still land (by polling), only a little later.
   */
  listener: ListenerState & { summary: string };
  error?: string;
}

/** Healthy = the database answers and every migration in supabase/migrations is applied. */
export async function checkHealth(db: Database): Promise<Health> {
  const state = db.listenerState();
  const listener = { ...state, summary: describeListener(state) };
  try {
    await db.query('select 1');
  } catch (error) {
    return {
      ok: false,
      database: 'unreachable',
      databaseKind: db.kind,
      pendingMigrations: [],
      listener,
      error: (error as Error).message,
    };
  }
  const pending = await pendingMigrations(db);
  return {
    ok: pending.length === 0,
    database: 'reachable',
    databaseKind: db.kind,
    pendingMigrations: pending,
    listener,
  };
}
