import { JOB_STATUSES, type JobStatus } from '~/domain/job-status';

import type { Queryable } from '../db/port.server';

export interface Overview {
  jobsByStatus: Record<JobStatus, number>;
  jobsToday: number;
  finishedToday: number;
  succeededToday: number;
  queueDepth: number;
  oldestPendingAt: Date | null;
  monthToDateCostMicros: number;
  offlineJobs: number;
}

/** The Overview page's figures, all read from the jobs table. "Today" is the UTC day. */
export async function presentOverview(db: Queryable): Promise<Overview> {
  const [statusRows, [today], [queue], [month]] = await Promise.all([
    db.query<{ status: JobStatus; count: number }>(
      'select status, count(*) as count from public.chapter_content_jobs group by status',
    ),
    db.query<{ created: number; finished: number; succeeded: number }>(
      `select
         count(*) filter (where created_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc') as created,
         count(*) filter (where finished_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc') as finished,
         count(*) filter (where status = 'succeeded'
           and finished_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc') as succeeded
       from public.chapter_content_jobs
       where created_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'
          or finished_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'`,
    ),
    db.query<{ depth: number; oldest: Date | null }>(
      `select count(*) as depth, min(created_at) as oldest
       from public.chapter_content_jobs where status = 'pending'`,
    ),
    db.query<{ cost: number; offline: number }>(
      `select coalesce(sum(cost_total_micros), 0) as cost, count(*) filter (where generator = 'offline') as offline
       from public.chapter_content_jobs
       where created_at >= date_trunc('month', now() at time zone 'utc') at time zone 'utc'`,
    ),
  ]);
  const jobsByStatus = Object.fromEntries(JOB_STATUSES.map((status) => [status, 0])) as Record<JobStatus, number>;
  for (const row of statusRows) jobsByStatus[row.status] = row.count;
  return {
    jobsByStatus,
    jobsToday: today.created,
    finishedToday: today.finished,
    succeededToday: today.succeeded,
    queueDepth: queue.depth,
    oldestPendingAt: queue.oldest,
    monthToDateCostMicros: month.cost,
    offlineJobs: month.offline,
  };
}
