-- Queue wait and end-to-end latency of a retried job. Both were measured from created_at, so a
-- job retried a day after it failed showed a day of "queue wait" and inflated p95 end to end.
-- Two timestamps now say when the latest attempt and the latest request began:
--
--   queued_at     when the job last became pending and due (submission, a retry, a backoff that
--                 ended, a reaped or released lease); queue wait = started_at - queued_at.
--   requested_at  when someone last asked for this job (submission or a manual retry);
--                 end to end = finished_at - requested_at, automatic retries included.
--
-- One BEFORE trigger sets them on every transition to pending, so no queue function can forget.
-- Rows from before this migration keep nulls (no table rewrite); readers use
-- coalesce(…, created_at), and retried jobs are back-filled from their retry events below.

alter table public.chapter_content_jobs add column queued_at timestamptz, add column requested_at timestamptz;
alter table public.chapter_content_jobs alter column queued_at set default now(),
  alter column requested_at set default now();

comment on column public.chapter_content_jobs.queued_at is
  'When the latest attempt became pending and due (submission, retry, end of a backoff, a reaped lease): queue wait runs from here.';
comment on column public.chapter_content_jobs.requested_at is
  'When the job was last asked for (submission or a manual retry): end-to-end latency runs from here.';

create function public.chapter_content_jobs_mark_queued() returns trigger
language plpgsql as $$
begin
  -- A backoff (run_after in the future) is a deliberate pause, not time spent waiting for a worker.
  new.queued_at := greatest(now(), new.run_after);
  -- Only retry_job moves a finished job back to pending: that is a new request.
  if old.status in ('failed', 'cancelled', 'succeeded') then
    new.requested_at := now();
  end if;
  return new;
end
$$;

create trigger chapter_content_jobs_queued
  before update of status on public.chapter_content_jobs
  for each row when (new.status = 'pending' and old.status is distinct from 'pending')
  execute function public.chapter_content_jobs_mark_queued();

update public.chapter_content_jobs j
set queued_at = retried.at, requested_at = retried.at
from (
  select job_id, max(occurred_at) as at from public.job_events where event = 'retry_requested' group by job_id
) retried
where j.id = retried.job_id;

-- The rollups measure from the new timestamps (same columns and buckets as before).
create or replace function public.job_rollup_rows(p_from timestamptz, p_to timestamptz)
returns setof public.job_daily_rollups
language sql stable as $$
  select (finished_at at time zone 'utc')::date, destination, model,
         count(*)::integer, (count(*) filter (where status = 'succeeded'))::integer,
         (count(*) filter (where status = 'failed'))::integer, (count(*) filter (where status = 'cancelled'))::integer,
         sum(input_tokens), sum(output_tokens), sum(cache_write_5m_tokens + cache_write_1h_tokens), sum(cache_read_tokens),
         sum(cost_input_micros), sum(cost_output_micros), sum(cost_cache_write_micros), sum(cost_cache_read_micros),
         sum(cost_cloud_run_micros), sum(cost_vercel_micros), sum(cost_total_micros),
         public.latency_histogram(array_agg(extract(epoch from finished_at - coalesce(requested_at, created_at)) * 1000)
           filter (where status = 'succeeded')),
         public.latency_histogram(array_agg(extract(epoch from first_token_at - started_at) * 1000) filter (where status = 'succeeded')),
         public.latency_histogram(array_agg(extract(epoch from started_at - coalesce(queued_at, created_at)) * 1000)
           -- started_at of an earlier attempt (retried, then cancelled before it ran) is no wait.
           filter (where started_at >= coalesce(queued_at, created_at))),
         now()
  from public.chapter_content_jobs
  where finished_at >= p_from and finished_at < p_to
  group by 1, 2, 3
$$;

revoke execute on function public.job_rollup_rows(timestamptz, timestamptz) from public, anon, authenticated;
