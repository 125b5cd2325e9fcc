-- Daily rollups for the Costs and Latency pages: one row per finished day, destination and
-- model, with cost parts and latency histograms. Finished days are materialised here by
-- refresh_job_rollups() (the sweeper runs it every minute for the last two days); the pages add
-- today's figures live from the jobs table through the finished_at index. Chart queries so read
-- at most a few hundred rollup rows plus one day of jobs, whatever the table's size
-- (measured by `npm run bench:dashboard`).
--
-- Why not a trigger per finished job: every completion would update the same rollup row, and
-- that row lock would serialise all workers' commits.

create index chapter_content_jobs_finished on public.chapter_content_jobs (finished_at)
  where finished_at is not null;

create table public.job_daily_rollups (
  day date not null,
  destination text not null,
  model text not null,
  jobs_finished integer not null,
  succeeded integer not null,
  failed integer not null,
  cancelled integer not null,
  input_tokens bigint not null,
  output_tokens bigint not null,
  cache_write_tokens bigint not null,
  cache_read_tokens bigint not null,
  cost_input_micros bigint not null,
  cost_output_micros bigint not null,
  cost_cache_write_micros bigint not null,
  cost_cache_read_micros bigint not null,
  cost_cloud_run_micros bigint not null,
  cost_vercel_micros bigint not null,
  cost_total_micros bigint not null,
  -- Counts per latency bucket (public.latency_bucket_bounds_ms): end to end, time to first
  -- token and queue wait, for percentiles without keeping every value.
  e2e_hist integer[] not null,
  ttft_hist integer[] not null,
  queue_hist integer[] not null,
  refreshed_at timestamptz not null default now(),
  primary key (day, destination, model)
);

comment on table public.job_daily_rollups is
  'Per day (UTC, by finished_at), destination and model: finished jobs, tokens, cost parts and latency histograms. Rebuilt for recent days by refresh_job_rollups().';

alter table public.job_daily_rollups enable row level security;
create policy "Staff can read job rollups" on public.job_daily_rollups for select to authenticated using (public.is_staff());
revoke all on public.job_daily_rollups from anon, authenticated;
grant select on public.job_daily_rollups to authenticated;

-- Upper bounds of the latency buckets in ms; the last bucket holds everything above.
create function public.latency_bucket_bounds_ms() returns integer[]
language sql immutable parallel safe as $$
  select array[50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10000, 15000, 20000,
               30000, 45000, 60000, 90000, 120000, 180000, 300000, 600000, 900000]
$$;

-- A histogram (array of counts, one per bucket plus overflow) of the given ms values.
create function public.latency_histogram(p_values double precision[]) returns integer[]
language sql immutable parallel safe as $$
  select array_agg(coalesce(counts.n, 0)::integer order by b.i)
  from generate_series(1, array_length(public.latency_bucket_bounds_ms(), 1) + 1) as b (i)
  left join (
    select width_bucket(v, public.latency_bucket_bounds_ms()::double precision[]) + 1 as i, count(*) as n
    from unnest(p_values) as v where v is not null
    group by 1
  ) counts on counts.i = b.i
$$;

-- Rollup rows computed from the jobs that finished in [p_from, p_to): what refresh stores for
-- past days, and what the pages compute live for today.
create function public.job_rollup_rows(p_from timestamptz, p_to timestamptz)
returns setof public.job_daily_rollups
language sql stable as $$
  select (finished_at at time zone 'utc')::date, destination, model,
         count(*)::integer, (count(*) filter (where status = 'succeeded'))::integer,
         (count(*) filter (where status = 'failed'))::integer, (count(*) filter (where status = 'cancelled'))::integer,
         sum(input_tokens), sum(output_tokens), sum(cache_write_5m_tokens + cache_write_1h_tokens), sum(cache_read_tokens),
         sum(cost_input_micros), sum(cost_output_micros), sum(cost_cache_write_micros), sum(cost_cache_read_micros),
         sum(cost_cloud_run_micros), sum(cost_vercel_micros), sum(cost_total_micros),
         public.latency_histogram(array_agg(extract(epoch from finished_at - created_at) * 1000) filter (where status = 'succeeded')),
         public.latency_histogram(array_agg(extract(epoch from first_token_at - started_at) * 1000) filter (where status = 'succeeded')),
         public.latency_histogram(array_agg(extract(epoch from started_at - created_at) * 1000) filter (where started_at is not null)),
         now()
  from public.chapter_content_jobs
  where finished_at >= p_from and finished_at < p_to
  group by 1, 2, 3
$$;

-- Rebuilds the rollups of finished days from p_since up to yesterday (UTC).
create function public.refresh_job_rollups(p_since date)
returns integer
language plpgsql as $$
declare
  v_rows integer;
begin
  -- Serialise refreshes (the sweeper on several instances) so a day is never half rebuilt.
  perform pg_advisory_xact_lock(7420063);
  delete from public.job_daily_rollups where day >= p_since;
  insert into public.job_daily_rollups
  select * from public.job_rollup_rows(
    p_since::timestamp at time zone 'utc',
    (now() at time zone 'utc')::date::timestamp at time zone 'utc'
  );
  get diagnostics v_rows = row_count;
  return v_rows;
end
$$;

create table public.cost_budgets (
  month date primary key check (extract(day from month) = 1),
  amount_micros bigint not null check (amount_micros >= 0),
  set_by text not null,
  set_at timestamptz not null default now()
);

comment on table public.cost_budgets is 'Monthly spending budgets finance sets; the Costs page compares month-to-date and its projection against it.';

alter table public.cost_budgets enable row level security;
create policy "Staff can read budgets" on public.cost_budgets for select to authenticated using (public.is_staff());
revoke all on public.cost_budgets from anon, authenticated;
grant select on public.cost_budgets to authenticated;

revoke execute on function public.refresh_job_rollups(date), public.job_rollup_rows(timestamptz, timestamptz) from public, anon, authenticated;
