/**
 * The one database port every repository, presenter, service and the worker is written
 * against. Two adapters implement it: PostgreSQL over TCP (`postgres.server.ts`) and PGlite
 * in-process (`pglite.server.ts`). Both return plain rows with the same JavaScript types:
 * int8 and numeric as numbers, timestamptz as Date, json/jsonb parsed.
 */
export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a script of one or more statements without parameters (migrations, seeds). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Subscribes to NOTIFY on `channel`; resolves once listening. Returns the unsubscribe. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The NOTIFY channel the queue functions publish job changes on. */
export const JOBS_CHANNEL = 'switchyard_jobs';

/** A NOTIFY on JOBS_CHANNEL (see supabase/migrations/*_create_queue_functions.sql). */
export interface JobsNotification {
  event: 'status' | 'progress' | 'cancel_requested';
  jobs: { id: string; status: string; batch_id?: string | null; output_tokens?: number }[];
}

export function parseJobsNotification(payload: string): JobsNotification | null {
  try {
    const parsed = JSON.parse(payload) as JobsNotification;
    return Array.isArray(parsed.jobs) ? parsed : null;
  } catch {
    return null;
  }
}
