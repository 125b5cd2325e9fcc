import { jobJson, type NewJob } from './queue.server';
import type { Queryable } from './db/port.server';
import { microBatcher, type Waiting } from './micro-batcher.server';

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

/**
 * `submitJob` for one job, sharing one transaction with the other submits of this process that
 * arrive meanwhile (ADR 0021): with nothing committing, it goes at once (after the current
 * event-loop turn, which gathers a burst); while a transaction is committing, the submits that
 * arrive wait at most `SUBMIT_BATCH_LINGER_MS` (or until `SUBMIT_BATCH_MAX` are waiting) and go
 * together through `submit_jobs`. Resolves only after that transaction committed, so the row is
 * durable when the caller answers 202; rejects with the caller's own error (an idempotency key
 * reused, a chapter deleted meanwhile) without failing the others.
 */
export const submitJobBatched: (db: Queryable, job: NewJob) => Promise<{ jobId: string; created: boolean }> =
  microBatcher({
    max: SUBMIT_BATCH_MAX,
    lingerMs: SUBMIT_BATCH_LINGER_MS,
    send: submitTogether,
    unanswered: 'submit_jobs returned no row for a job',
  });

async function submitTogether(db: Queryable, batch: Waiting<NewJob, { jobId: string; created: boolean }>[]) {
  const rows = await db.query<{
    ordinal: number;
    job_id: string | null;
    created: boolean | null;
    error_code: string | null;
    error_message: string | null;
  }>('select * from public.submit_jobs($1)', [JSON.stringify(batch.map((w) => jobJson(w.item)))]);
  for (const row of rows) {
    const waiting = batch[row.ordinal - 1];
    if (row.error_code)
      waiting.reject(new SubmitError(row.error_message ?? 'The job could not be queued.', row.error_code));
    else waiting.resolve({ jobId: row.job_id!, created: row.created! });
  }
}
