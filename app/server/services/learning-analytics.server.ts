import type { AnalyticsComputeInput } from '~/domain/job-kinds';

import { audit } from '../audit.server';
import { submitAnalyticsJob } from '../queue.server';
import type { Runtime } from '../runtime.server';
import type { Submitter } from './submit.server';

export type QueueAnalyticsResult =
  { kind: 'queued'; jobId: string; created: boolean } | { kind: 'idempotency_key_reused'; message: string };

/**
 * Queues learning analytics for a range as an analytics job on the generation queue (the worker
 * computes it: learning-analytics.server.ts), audits it and wakes the worker. A replayed
 * idempotency key (scoped to the caller) answers with the first job; the same key with another
 * range is refused.
 */
export async function queueLearningAnalytics(
  runtime: Runtime,
  submitter: Submitter,
  input: AnalyticsComputeInput,
): Promise<QueueAnalyticsResult> {
  const key = input.idempotency_key ? `analytics:${submitter.scope}:${input.idempotency_key}` : null;
  const submitted = await runtime.db.transaction(async (tx) => {
    const queued = await submitAnalyticsJob(tx, {
      from: input.from,
      to: input.to,
      createdBy: submitter.actor,
      idempotencyKey: key,
    });
    if (queued.created) {
      await audit(tx, {
        actor: submitter.actor,
        action: 'analytics.compute',
        targetType: 'job',
        targetId: queued.jobId,
        detail: { from: input.from, to: input.to },
      });
      return { ...queued, sameRange: true };
    }
    const [first] = await tx.query<{ same: boolean }>(
      `select payload = jsonb_build_object('from', $2::text, 'to', $3::text) as same
       from public.chapter_content_jobs where id = $1`,
      [queued.jobId, input.from, input.to],
    );
    return { ...queued, sameRange: Boolean(first?.same) };
  });
  if (!submitted.sameRange)
    return {
      kind: 'idempotency_key_reused',
      message: 'This Idempotency-Key was first used for another range; send a new key for a new range.',
    };
  if (submitted.created) runtime.wakeWorker();
  return { kind: 'queued', jobId: submitted.jobId, created: submitted.created };
}
