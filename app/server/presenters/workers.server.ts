import type { Queryable } from '../db/port.server';

export interface WorkerInstance {
  workerId: string;
  host: string;
  startedAt: Date;
  lastSeenAt: Date;
  currentJobId: string | null;
  jobsSucceeded: number;
  jobsFailed: number;
  stoppedAt: Date | null;
  stale: boolean;
}

/**
 * Worker instances that reported in the last day. A worker is stale when it has not
 * reported for longer than a lease: its jobs will be reaped and run elsewhere.
 */
export async function presentWorkers(db: Queryable, leaseSeconds: number): Promise<WorkerInstance[]> {
  const rows = await db.query<{
    worker_id: string;
    host: string;
    started_at: Date;
    last_seen_at: Date;
    current_job_id: string | null;
    jobs_succeeded: number;
    jobs_failed: number;
    stopped_at: Date | null;
    stale: boolean;
  }>(
    `select *, stopped_at is null and last_seen_at < now() - make_interval(secs => $1) as stale
     from public.worker_heartbeats
     where last_seen_at > now() - interval '1 day'
     order by stopped_at is not null, last_seen_at desc`,
    [leaseSeconds],
  );
  return rows.map((row) => ({
    workerId: row.worker_id,
    host: row.host,
    startedAt: row.started_at,
    lastSeenAt: row.last_seen_at,
    currentJobId: row.current_job_id,
    jobsSucceeded: row.jobs_succeeded,
    jobsFailed: row.jobs_failed,
    stoppedAt: row.stopped_at,
    stale: row.stale,
  }));
}
