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
