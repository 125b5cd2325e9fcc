import type { Queryable } from '../db/port.server';

export interface BatchListItem {
  id: string;
  name: string;
  createdBy: string;
  createdAt: Date;
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  costMicros: number;
  startedAt: Date | null;
  cancelRequested: boolean;
  /** Its spend cap (µ$), or null: none. */
  capMicros: number | null;
  /** Paused at its cap: claims skip its pending jobs until finance resumes it (ADR 0013). */
  paused: { at: Date; reason: string | null } | null;
}

/** The newest batches (or one) with their jobs counted by status (uses the jobs' batch index). */
export async function presentBatchList(db: Queryable, limit = 50, onlyId?: string): Promise<BatchListItem[]> {
  const rows = await db.query<{
    id: string;
    name: string;
    created_by: string;
    created_at: Date;
    total: number;
    pending: number;
    running: number;
    succeeded: number;
    failed: number;
    cancelled: number;
    cost: number;
    started_at: Date | null;
    cancel_requested_at: Date | null;
    max_cost_micros: number | null;
    paused_at: Date | null;
    paused_reason: string | null;
  }>(
    `select b.id, b.name, b.created_by, b.created_at, b.job_count as total,
            coalesce(s.pending, 0) as pending, coalesce(s.running, 0) as running,
            coalesce(s.succeeded, 0) as succeeded, coalesce(s.failed, 0) as failed,
            coalesce(s.cancelled, 0) as cancelled, coalesce(s.cost, 0) as cost, s.started_at, b.cancel_requested_at,
            b.max_cost_micros, b.paused_at, b.paused_reason
     from (select * from public.batches where $2::uuid is null or id = $2 order by created_at desc, id desc limit $1) b
     left join lateral (
       select count(*) filter (where status = 'pending') as pending,
              count(*) filter (where status = 'running') as running,
              count(*) filter (where status = 'succeeded') as succeeded,
              count(*) filter (where status = 'failed') as failed,
              count(*) filter (where status = 'cancelled') as cancelled,
              sum(cost_total_micros) as cost,
              min(started_at) as started_at
       from public.chapter_content_jobs where batch_id = b.id
     ) s on true
     order by b.created_at desc, b.id desc`,
    [limit, onlyId ?? null],
  );
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    createdBy: row.created_by,
    createdAt: row.created_at,
    total: row.total,
    pending: row.pending,
    running: row.running,
    succeeded: row.succeeded,
    failed: row.failed,
    cancelled: row.cancelled,
    costMicros: row.cost,
    startedAt: row.started_at,
    cancelRequested: row.cancel_requested_at !== null,
    capMicros: row.max_cost_micros === null ? null : Number(row.max_cost_micros),
    paused: row.paused_at ? { at: row.paused_at, reason: row.paused_reason } : null,
  }));
}
