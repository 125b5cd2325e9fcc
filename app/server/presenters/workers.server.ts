import type { CloudRunControl, CloudRunState } from '../cloud-run.server';
import { describeListener, listenerNeedsPolling, type ListenerState, type Queryable } from '../db/port.server';

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
  /** Its LISTEN connection as last reported; null from workers older than that report. */
  listener: ListenerSummary | null;
}

export interface ListenerSummary {
  /** True when notifications do not arrive and the process polls instead. */
  polling: boolean;
  summary: string;
}

export function summarizeListener(state: ListenerState): ListenerSummary {
  return { polling: listenerNeedsPolling(state), summary: describeListener(state) };
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
    listener: (Omit<ListenerState, 'since'> & { since: string }) | null;
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
    listener: row.listener ? summarizeListener({ ...row.listener, since: new Date(row.listener.since) }) : null,
  }));
}

/** The window jobs-per-minute is averaged over: long enough to smooth a burst, short enough to show a stall. */
export const THROUGHPUT_WINDOW_MINUTES = 10;

export interface QueueActivity {
  /** Jobs waiting to be claimed (pending, including those waiting out a retry delay). */
  depth: number;
  oldestWaiting: { jobId: string; since: Date } | null;
  /** Jobs that succeeded or failed in the last THROUGHPUT_WINDOW_MINUTES. */
  finishedInWindow: number;
  windowMinutes: number;
  perMinute: number;
}

export async function presentQueueActivity(db: Queryable): Promise<QueueActivity> {
  const [[queue], [oldest], [finished]] = await Promise.all([
    db.query<{ depth: number }>(`select count(*) as depth from public.chapter_content_jobs where status = 'pending'`),
    db.query<{ id: string; created_at: Date }>(
      `select id, created_at from public.chapter_content_jobs
       where status = 'pending' order by created_at, id limit 1`,
    ),
    // WARNING: no index covers finished_at, so this scans the jobs table on every page load; add
    // a partial index on finished_at for finished jobs if the table grows large.
    db.query<{ count: number }>(
      `select count(*) as count from public.chapter_content_jobs
       where status in ('succeeded', 'failed') and finished_at > now() - make_interval(mins => $1)`,
      [THROUGHPUT_WINDOW_MINUTES],
    ),
  ]);
  return {
    depth: queue.depth,
    oldestWaiting: oldest ? { jobId: oldest.id, since: oldest.created_at } : null,
    finishedInWindow: finished.count,
    windowMinutes: THROUGHPUT_WINDOW_MINUTES,
    perMinute: Math.round((finished.count / THROUGHPUT_WINDOW_MINUTES) * 10) / 10,
  };
}

export type CloudRunPanel =
  | { configured: false }
  | { configured: true; serviceName: string; state: CloudRunState; error: null }
  | { configured: true; serviceName: string; state: null; error: string };

/** The Cloud Run service as the Admin API reports it; a read failure is shown, not thrown. */
export async function presentCloudRunService(cloudRun: CloudRunControl | null): Promise<CloudRunPanel> {
  if (!cloudRun) return { configured: false };
  try {
    return { configured: true, serviceName: cloudRun.serviceName, state: await cloudRun.read(), error: null };
  } catch (error) {
    return { configured: true, serviceName: cloudRun.serviceName, state: null, error: (error as Error).message };
  }
}

/** Everything the Worker page shows: the Cloud Run service, and the workers and queue from the database. */
export async function presentWorkerPage(db: Queryable, leaseSeconds: number, cloudRun: CloudRunControl | null) {
  const [cloudRunPanel, workers, queue] = await Promise.all([
    presentCloudRunService(cloudRun),
    presentWorkers(db, leaseSeconds),
    presentQueueActivity(db),
  ]);
  return { cloudRun: cloudRunPanel, workers, queue };
}
