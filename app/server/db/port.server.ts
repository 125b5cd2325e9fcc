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
  /** The LISTEN connection as it is now: up or reconnecting, and whether NOTIFY reaches it. */
  listenerState(): ListenerState;
  /**
   * Calls `onChange` on every change of `listenerState()`. `reconnected` is true when the
   * connection has just come back: notifications sent while it was down are lost, so the
   * subscriber must catch up from the database (a wake-up, a reload). Returns the unsubscribe.
   */
  onListenerChange(onChange: (state: ListenerState, reconnected: boolean) => void): () => void;
  close(): Promise<void>;
}

/**
 * - `connection`: `connected`, or `reconnecting` since `since` (retrying forever with capped
 *   backoff); `idle` before anything listens.
 * - `mode`: `listen` when a NOTIFY sent through the pool was seen to arrive; `polling` when it did
 *   not (a transaction-mode pooler swallows them), so callers poll instead; `checking` while
 *   the 2 s start-up probe runs.
 */
export interface ListenerState {
  connection: 'idle' | 'connected' | 'reconnecting';
  mode: 'checking' | 'listen' | 'polling';
  since: Date;
  lastError: string | null;
  reconnects: number;
}

/** True when notifications cannot be relied on right now and callers should poll. */
export function listenerNeedsPolling(state: ListenerState): boolean {
  return state.connection !== 'connected' || state.mode !== 'listen';
}

/** One line for logs, the Worker page and /healthz readers. */
export function describeListener(state: ListenerState): string {
  if (state.connection === 'reconnecting') {
    return `reconnecting since ${state.since.toISOString()}${state.lastError ? ` (${state.lastError})` : ''}; polling meanwhile`;
  }
  if (state.connection === 'idle') return 'not listening yet';
  if (state.mode === 'polling') {
    return 'connected, but LISTEN does not deliver notifications (a transaction-mode pooler?); polling instead. Point DATABASE_LISTEN_URL at a session-mode or direct connection.';
  }
  if (state.mode === 'checking') return 'connected; checking that notifications arrive';
  return 'connected; notifications arrive';
}

/** How often callers poll while `listenerNeedsPolling`: keeps cancel within about a second. */
export const LISTENER_POLL_INTERVAL_MS = 500;

/** The NOTIFY channel the queue functions publish job changes on. */
export const JOBS_CHANNEL = 'switchyard_jobs';

/**
 * A NOTIFY on JOBS_CHANNEL, or a change /live sends. Since ADR 0021 the database notifies only
 * new claimable work, once per transaction and without ids (`{"event": "status", "jobs":
 * [{"status": "pending"}]}`), and cancel requests of running jobs; /live reads every change from job_events.
 */
export interface JobsNotification {
  event: 'status' | 'progress' | 'cancel_requested';
  /** `id` is missing from the new-work notification, which says only that something is pending. */
  jobs: { id?: string; status: string; batch_id?: string | null; output_tokens?: number }[];
}

export function parseJobsNotification(payload: string): JobsNotification | null {
  try {
    const parsed = JSON.parse(payload) as JobsNotification;
    return Array.isArray(parsed.jobs) ? parsed : null;
  } catch {
    return null;
  }
}
