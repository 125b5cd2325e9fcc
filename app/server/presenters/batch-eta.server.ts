import { fleetEta, type FleetEta } from '~/domain/fleet-eta';

import type { Queryable } from '../db/port.server';

/**
 * A batch's ETA from the fleet as it is now (`fleetEta`): its unfinished jobs, the instances
 * working (workers holding a cloud job, or wake-ups in flight, whichever is more), and how long
 * a chapter takes (this batch's finished jobs, else the last 50 cloud jobs).
 */
export async function presentBatchEta(db: Queryable, batchId: string, maxInstances: number): Promise<FleetEta> {
  const [row] = await db.query<{ remaining: number; fleet_size: number; seconds_per_job: number | null }>(
    `select
       (select count(*)::int from public.chapter_content_jobs
         where batch_id = $1 and status in ('pending', 'running')) as remaining,
       greatest(
         (select count(distinct lease_owner)::int from public.chapter_content_jobs
           where status = 'running' and destination = 'cloud'),
         public.open_wakeup_count()) as fleet_size,
       coalesce(
         (select avg(extract(epoch from finished_at - started_at)) from public.chapter_content_jobs
           where batch_id = $1 and status = 'succeeded' and started_at is not null),
         (select avg(extract(epoch from finished_at - started_at)) from (
            select finished_at, started_at from public.chapter_content_jobs
            where status = 'succeeded' and destination = 'cloud' and started_at is not null
            order by finished_at desc limit 50) recent)
       )::float8 as seconds_per_job`,
    [batchId],
  );
  return fleetEta({
    remaining: row.remaining,
    fleetSize: row.fleet_size,
    maxInstances,
    secondsPerJob: row.seconds_per_job,
  });
}
