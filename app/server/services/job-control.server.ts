import type { JobStatus } from '~/domain/job-status';

import { audit } from '../audit.server';
import type { Database } from '../db/port.server';
import { cancelBatch, cancelJob, retryJob } from '../queue.server';

export type ControlResult =
  | { ok: true; status: JobStatus; message: string }
  | { ok: false; reason: 'not_found' | 'conflict'; status?: JobStatus; message: string };

/** Cancels a job: pending ones at once, running ones by asking their worker to stop. */
export async function cancelJobService(db: Database, actor: string, jobId: string): Promise<ControlResult> {
  return db.transaction(async (tx) => {
    const status = await cancelJob(tx, jobId, actor);
    if (status === null) return { ok: false, reason: 'not_found', message: 'No job has this id.' };
    if (status !== 'cancelled' && status !== 'running') {
      return {
        ok: false,
        reason: 'conflict',
        status,
        message: `The job already ${status === 'succeeded' ? 'succeeded' : 'failed'}; there is nothing to cancel.`,
      };
    }
    await audit(tx, { actor, action: 'job.cancel', targetType: 'job', targetId: jobId, detail: { status } });
    return {
      ok: true,
      status,
      message: status === 'cancelled' ? 'Cancelled.' : 'Cancel requested: the worker is stopping the generation.',
    };
  });
}

/** Queues a failed or cancelled job again with a fresh retry budget. */
export async function retryJobService(db: Database, actor: string, jobId: string): Promise<ControlResult> {
  return db.transaction(async (tx) => {
    const status = await retryJob(tx, jobId, actor);
    if (status === null) return { ok: false, reason: 'not_found', message: 'No job has this id.' };
    if (status !== 'pending')
      return {
        ok: false,
        reason: 'conflict',
        status,
        message: `Only failed or cancelled jobs can be retried; this one is ${status}.`,
      };
    await audit(tx, { actor, action: 'job.retry', targetType: 'job', targetId: jobId });
    return { ok: true, status, message: 'Queued again.' };
  });
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
