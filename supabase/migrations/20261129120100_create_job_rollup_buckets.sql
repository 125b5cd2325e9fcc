-- Hourly buckets for the Costs and Latency charts of short ranges (ADR 0008). A range of up to
-- two days is computed live from the jobs that finished in it (the finished_at index bounds it
-- to those rows); longer ranges keep reading the daily rollups plus today live.
--
-- job_rollup_buckets is the one aggregate both granularities use; job_rollup_rows (what the
-- daily rollups store) becomes its 'day' case, with the same columns as before.

create function public.job_rollup_buckets(p_from timestamptz, p_to timestamptz, p_unit text)
returns table (
  bucket timestamptz,
  destination text,
  model text,
  jobs_finished integer,
  succeeded integer,
  failed integer,
  cancelled integer,
  input_tokens bigint,
  output_tokens bigint,
  cache_write_tokens bigint,
  cache_read_tokens bigint,
  cost_input_micros bigint,
  cost_output_micros bigint,
  cost_cache_write_micros bigint,
  cost_cache_read_micros bigint,
  cost_cloud_run_micros bigint,
  cost_vercel_micros bigint,
  cost_total_micros bigint,
  e2e_hist integer[],
  ttft_hist integer[],
  queue_hist integer[]
)
language sql stable as $$
  -- Buckets are UTC hours or days whatever the session's time zone; pages label them.
  select date_trunc(p_unit, j.finished_at at time zone 'utc') at time zone 'utc', j.destination, j.model,
         count(*)::integer, (count(*) filter (where j.status = 'succeeded'))::integer,
         (count(*) filter (where j.status = 'failed'))::integer, (count(*) filter (where j.status = 'cancelled'))::integer,
         sum(j.input_tokens), sum(j.output_tokens), sum(j.cache_write_5m_tokens + j.cache_write_1h_tokens),
         sum(j.cache_read_tokens),
         sum(j.cost_input_micros), sum(j.cost_output_micros), sum(j.cost_cache_write_micros), sum(j.cost_cache_read_micros),
         sum(j.cost_cloud_run_micros), sum(j.cost_vercel_micros), sum(j.cost_total_micros),
         public.latency_histogram(array_agg(extract(epoch from j.finished_at - coalesce(j.requested_at, j.created_at)) * 1000)
           filter (where j.status = 'succeeded')),
         public.latency_histogram(array_agg(extract(epoch from j.first_token_at - j.started_at) * 1000)
           filter (where j.status = 'succeeded')),
         -- started_at of an earlier attempt (retried, then cancelled before it ran) is no wait.
         public.latency_histogram(array_agg(extract(epoch from j.started_at - coalesce(j.queued_at, j.created_at)) * 1000)
           filter (where j.started_at >= coalesce(j.queued_at, j.created_at)))
  from public.chapter_content_jobs j
  where j.finished_at >= p_from and j.finished_at < p_to and p_unit in ('hour', 'day')
  group by 1, 2, 3
$$;

create or replace function public.job_rollup_rows(p_from timestamptz, p_to timestamptz)
returns setof public.job_daily_rollups
language sql stable as $$
  select (b.bucket at time zone 'utc')::date, b.destination, b.model, b.jobs_finished, b.succeeded, b.failed,
         b.cancelled, b.input_tokens, b.output_tokens, b.cache_write_tokens, b.cache_read_tokens,
         b.cost_input_micros, b.cost_output_micros, b.cost_cache_write_micros, b.cost_cache_read_micros,
         b.cost_cloud_run_micros, b.cost_vercel_micros, b.cost_total_micros, b.e2e_hist, b.ttft_hist, b.queue_hist,
         now()
  from public.job_rollup_buckets(p_from, p_to, 'day') b
$$;

revoke execute on function public.job_rollup_buckets(timestamptz, timestamptz, text),
  public.job_rollup_rows(timestamptz, timestamptz) from public, anon, authenticated;
