import type { JobStatus } from '~/domain/job-status';

import { audit, auditMany } from '../audit.server';
import type { Database } from '../db/port.server';
import {
  cancelBatch,
  cancelJobs as cancelJobsInQueue,
  retryJobs as retryJobsInQueue,
  type JobOutcome,
} from '../queue.server';
import type { Runtime } from '../runtime.server';

/** Who asks: a staff member (their email) or an API caller (`token:<name>`). */
export interface ControlCaller {
  actor: string;
}

/** What a cancel or retry did to one job. */
export type JobControlOutcome =
  | { jobId: string; kind: 'cancelled' | 'stopping' | 'queued'; status: JobStatus; message: string }
  | { jobId: string; kind: 'not_found'; message: string }
  | { jobId: string; kind: 'conflict'; status: JobStatus; message: string };

export interface JobControlResult {
  outcomes: JobControlOutcome[];
  /** How many jobs the call changed (or asked to stop), and how many it left as they were. */
  changed: number;
  skipped: number;
}

const NOT_FOUND = 'No job has this id.';

function cancelOutcome(row: JobOutcome): JobControlOutcome {
  const jobId = row.job_id;
  if (row.status === null) return { jobId, kind: 'not_found', message: NOT_FOUND };
  // Cancelling a cancelled job is no error (a repeated request must not fail).
  if (row.status === 'cancelled') return { jobId, kind: 'cancelled', status: row.status, message: 'Cancelled.' };
  if (row.status === 'running')
    return {
      jobId,
      kind: 'stopping',
      status: row.status,
      message: 'Cancel requested: the worker is stopping the generation.',
    };
  return {
    jobId,
    kind: 'conflict',
    status: row.status,
    message: `The job already ${row.status === 'succeeded' ? 'succeeded' : 'failed'}; there is nothing to cancel.`,
  };
}

function retryOutcome(row: JobOutcome): JobControlOutcome {
  const jobId = row.job_id;
  if (row.status === null) return { jobId, kind: 'not_found', message: NOT_FOUND };
  // A job already pending counts as queued, as a repeated retry request must not fail.
  if (row.status === 'pending') return { jobId, kind: 'queued', status: row.status, message: 'Queued again.' };
  return {
    jobId,
    kind: 'conflict',
    status: row.status,
    message: `Only failed or cancelled jobs can be retried; this one is ${row.status}.`,
  };
}

function summarise(outcomes: JobControlOutcome[]): JobControlResult {
  const changed = outcomes.filter((outcome) => outcome.kind !== 'not_found' && outcome.kind !== 'conflict').length;
  return { outcomes, changed, skipped: outcomes.length - changed };
}

/**
 * Cancels jobs in one SQL call: pending ones at once, running ones by asking their worker to
 * stop. Each job it changes is audited; the others are reported as not found or conflict.
 */
export async function cancelJobs(
  runtime: Pick<Runtime, 'db'>,
  caller: ControlCaller,
  jobIds: string[],
): Promise<JobControlResult> {
  return runtime.db.transaction(async (tx) => {
    const outcomes = (await cancelJobsInQueue(tx, jobIds, caller.actor)).map(cancelOutcome);
    await auditMany(
      tx,
      outcomes.flatMap((outcome) =>
        outcome.kind === 'cancelled' || outcome.kind === 'stopping'
          ? [
              {
                actor: caller.actor,
                action: 'job.cancel',
                targetType: 'job',
                targetId: outcome.jobId,
                detail: { status: outcome.status },
              },
            ]
          : [],
      ),
    );
    return summarise(outcomes);
  });
}

/**
 * Queues failed or cancelled jobs again with a fresh retry budget, in one SQL call, and wakes
 * the worker once when any was queued.
 */
export async function retryJobs(
  runtime: Pick<Runtime, 'db' | 'wakeWorker'>,
  caller: ControlCaller,
  jobIds: string[],
): Promise<JobControlResult> {
  const result = await runtime.db.transaction(async (tx) => {
    const outcomes = (await retryJobsInQueue(tx, jobIds, caller.actor)).map(retryOutcome);
    await auditMany(
      tx,
      outcomes.flatMap((outcome) =>
        outcome.kind === 'queued'
          ? [{ actor: caller.actor, action: 'job.retry', targetType: 'job', targetId: outcome.jobId }]
          : [],
      ),
    );
    return summarise(outcomes);
  });
  if (result.changed > 0) runtime.wakeWorker();
  return result;
}

export async function cancelBatchService(db: Database, actor: string, batchId: string) {
  return db.transaction(async (tx) => {
    const exists = await tx.query('select 1 from public.batches where id = $1', [batchId]);
    if (exists.length === 0) return null;
    const counts = await cancelBatch(tx, batchId, actor);
    await audit(tx, { actor, action: 'batch.cancel', targetType: 'batch', targetId: batchId, detail: counts });
    return counts;
  });
}
