import { jobJson, type NewJob } from './queue.server';
import type { Queryable } from './db/port.server';

/** How long a submit waits for others to share its transaction, while another one commits. */
export const SUBMIT_BATCH_LINGER_MS = 2;

/**
 * Submits per transaction at most. `submit_jobs` gives each one a subtransaction, and past 64
 * in one transaction PostgreSQL's subtransaction cache overflows (see its migration).
 */
export const SUBMIT_BATCH_MAX = 32;

/** A submit that failed alone inside a shared transaction; `code` is its SQLSTATE. */
export class SubmitError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'SubmitError';
  }
}

interface Waiting {
  job: NewJob;
  resolve: (result: { jobId: string; created: boolean }) => void;
  reject: (error: unknown) => void;
}

interface Batcher {
  waiting: Waiting[];
  timer: NodeJS.Timeout | null;
  immediate: NodeJS.Immediate | null;
  inFlight: number;
}

const batchers = new WeakMap<Queryable, Batcher>();

/**
 * `submitJob` for one job, sharing one transaction with the other submits of this process that
 * arrive meanwhile (ADR 0021): with nothing committing, it goes at once (after the current
 * event-loop turn, which gathers a burst); while a transaction is committing, the submits that
 * arrive wait at most `SUBMIT_BATCH_LINGER_MS` (or until `SUBMIT_BATCH_MAX` are waiting) and go
 * together through `submit_jobs`. Resolves only after that transaction committed, so the row is
 * durable when the caller answers 202; rejects with the caller's own error (an idempotency key
 * reused, a chapter deleted meanwhile) without failing the others.
 */
export function submitJobBatched(db: Queryable, job: NewJob): Promise<{ jobId: string; created: boolean }> {
  let batcher = batchers.get(db);
  if (!batcher) {
    batcher = { waiting: [], timer: null, immediate: null, inFlight: 0 };
    batchers.set(db, batcher);
  }
  const state = batcher;
  return new Promise((resolve, reject) => {
    state.waiting.push({ job, resolve, reject });
    if (state.waiting.length >= SUBMIT_BATCH_MAX) flush(db, state);
    else if (state.inFlight === 0) state.immediate ??= setImmediate(() => flush(db, state));
    else state.timer ??= setTimeout(() => flush(db, state), SUBMIT_BATCH_LINGER_MS);
  });
}

function flush(db: Queryable, state: Batcher) {
  if (state.timer) clearTimeout(state.timer);
  if (state.immediate) clearImmediate(state.immediate);
  state.timer = null;
  state.immediate = null;
  while (state.waiting.length > 0) {
    const batch = state.waiting.splice(0, SUBMIT_BATCH_MAX);
    state.inFlight += 1;
    void submitTogether(db, batch).finally(() => {
      state.inFlight -= 1;
    });
  }
}

async function submitTogether(db: Queryable, batch: Waiting[]) {
  let rows: {
    ordinal: number;
    job_id: string | null;
    created: boolean | null;
    error_code: string | null;
    error_message: string | null;
  }[];
  try {
    rows = await db.query('select * from public.submit_jobs($1)', [JSON.stringify(batch.map((w) => jobJson(w.job)))]);
  } catch (error) {
    for (const waiting of batch) waiting.reject(error);
    return;
  }
  for (const row of rows) {
    const waiting = batch[row.ordinal - 1];
    if (row.error_code)
      waiting.reject(new SubmitError(row.error_message ?? 'The job could not be queued.', row.error_code));
    else waiting.resolve({ jobId: row.job_id!, created: row.created! });
  }
}
