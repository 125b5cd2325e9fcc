import type { ProviderBatchView } from '~/domain/provider-batch';

import type { Queryable } from '../db/port.server';

/**
 * The provider batches (Message Batches API submissions, ADR 0020) that hold a batch's jobs or
 * one job: provider id, processing status, request counts, time in batch and the saving against
 * streaming prices. Reads provider_batches through the jobs that point at them.
 */

interface Row {
  id: string;
  provider: 'anthropic' | 'offline';
  provider_batch_id: string | null;
  status: string;
  request_count: number;
  jobs: number;
  processing: number;
  succeeded: number;
  errored: number;
  canceled: number;
  expired: number;
  submitted_at: Date | null;
  time_in_batch_ms: number | null;
  saving_micros: number | string;
  cancel_requested_at: Date | null;
  last_error: string | null;
}

export async function presentProviderBatches(
  db: Queryable,
  of: { batchId: string } | { jobId: string },
): Promise<ProviderBatchView[]> {
  const rows = await db.query<Row>(
    `select p.id, p.provider, p.provider_batch_id, p.status, p.request_count, count(j.id)::integer as jobs,
            p.processing, p.succeeded, p.errored, p.canceled, p.expired, p.submitted_at,
            (extract(epoch from (coalesce(p.ended_at, now()) - p.submitted_at)) * 1000)::bigint::float8 as time_in_batch_ms,
            p.saving_micros, p.cancel_requested_at, p.last_error
     from public.chapter_content_jobs j
     join public.provider_batches p on p.id = j.provider_batch_id
     where ${'batchId' in of ? 'j.batch_id' : 'j.id'} = $1
     group by p.id
     order by p.created_at, p.id`,
    ['batchId' in of ? of.batchId : of.jobId],
  );
  return rows.map((row) => ({
    id: row.id,
    provider: row.provider,
    providerBatchId: row.provider_batch_id,
    status: row.status,
    requests: row.request_count,
    jobs: row.jobs,
    counts: {
      processing: row.processing,
      succeeded: row.succeeded,
      errored: row.errored,
      canceled: row.canceled,
      expired: row.expired,
    },
    submittedAt: row.submitted_at ? new Date(row.submitted_at).toISOString() : null,
    timeInBatchMs: row.time_in_batch_ms === null ? null : Number(row.time_in_batch_ms),
    savingMicros: Number(row.saving_micros),
    cancelRequested: row.cancel_requested_at !== null,
    lastError: row.last_error,
  }));
}
