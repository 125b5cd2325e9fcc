-- The attempt ledger: the cost truth (ADR 0013). One row per attempt of a job, opened by the
-- claim that starts it and closed by whatever ends it (complete, fail, release, the reaper).
--
-- Before: a job's usage and cost were summed into the job row and the rollups grouped jobs by
-- their latest finished_at. A retried job kept its running cost and lost its finished_at, so
-- the old attempt's cost stayed in the frozen day of its first failure and came again on the
-- day of the retry (measured: chart 20,000 µ$ above the jobs table after one retry of a 3-day-old
-- job); spend of jobs waiting for a retry was in no chart at all.
--
-- Now: every attempt is a ledger row, dated by its start (when its request was made, which is
-- also when its prices are read), and the Costs page, its CSVs, the month to date and the
-- rollups read the ledger by that day. Whatever happens to the job later (retried, released,
-- cancelled, reaped), an attempt is counted once, on its own day. The job's cost columns stay
-- as the sum of its ended attempts (finish_attempt and the reaper add each attempt's usage as
-- they close it).
--
-- While an attempt runs, record_progress keeps its usage and cost so far in the row (tokens as
-- the stream reports them, cost priced by the worker), so an attempt whose worker dies is booked
-- by the reaper from what it recorded, and a worker that lost its lease books its own usage
-- when it ends (book_lost_attempt).

create table public.job_attempts (
  id bigint generated always as identity primary key,
  job_id uuid not null references public.chapter_content_jobs (id) on delete cascade,
  -- 1, 2, 3… in claim order; a released attempt (a worker shutting down) is numbered too.
  attempt integer not null check (attempt >= 1),
  batch_id uuid references public.batches (id) on delete cascade,
  destination text not null,
  model text not null,
  generator text check (generator in ('anthropic', 'offline')),
  worker text,
  started_at timestamptz not null default now(),
  ended_at timestamptz,
  -- null while running; how it ended otherwise.
  outcome text check (outcome in ('succeeded', 'retry', 'failed', 'cancelled', 'released', 'reaped')),
  error_code text,
  input_tokens integer not null default 0,
  output_tokens integer not null default 0,
  cache_write_5m_tokens integer not null default 0,
  cache_write_1h_tokens integer not null default 0,
  cache_read_tokens integer not null default 0,
  busy_ms integer not null default 0,
  cost_input_micros bigint not null default 0,
  cost_output_micros bigint not null default 0,
  cost_cache_write_micros bigint not null default 0,
  cost_cache_read_micros bigint not null default 0,
  cost_cloud_run_micros bigint not null default 0,
  cost_vercel_micros bigint not null default 0,
  cost_total_micros bigint not null default 0,
  -- The model had no price: its tokens are recorded, its cost is unknown (never shown as $0).
  unpriced boolean not null default false,
  -- Booked from a job row that existed before this ledger (one row holding the job's totals).
  migrated boolean not null default false,
  constraint job_attempts_cost_total_is_sum_of_parts check (
    cost_total_micros = cost_input_micros + cost_output_micros + cost_cache_write_micros
      + cost_cache_read_micros + cost_cloud_run_micros + cost_vercel_micros
  ),
  unique (job_id, attempt)
);

comment on table public.job_attempts is
  'The attempt ledger: one row per attempt of a job with its tokens, cost by component and outcome; costs, budgets and batch caps read it by the attempt''s day.';

-- At most one open attempt per job: the one a running job's lease belongs to.
create unique index job_attempts_open on public.job_attempts (job_id) where ended_at is null;
-- Charts, CSVs and the month to date read attempts by their day.
create index job_attempts_started_at on public.job_attempts (started_at);
-- A batch's spend and running attempts (its cap check, its actual cost): an index-only scan.
create index job_attempts_batch on public.job_attempts (batch_id) include (cost_total_micros, ended_at)
  where batch_id is not null;

alter table public.job_attempts enable row level security;
create policy "Staff can read job attempts" on public.job_attempts
  for select to authenticated using (public.is_staff());
revoke all on public.job_attempts from anon, authenticated;
grant select on public.job_attempts to authenticated;

-- Existing jobs become one migrated attempt each, holding the totals they have, dated by the
-- start of their latest attempt (the only start they kept). Also what the demo history uses.
create function public.book_jobs_without_attempts() returns integer
language plpgsql as $$
declare
  v_rows integer;
begin
  insert into public.job_attempts (
    job_id, attempt, batch_id, destination, model, generator, worker, started_at, ended_at, outcome, error_code,
    input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, busy_ms,
    cost_input_micros, cost_output_micros, cost_cache_write_micros, cost_cache_read_micros,
    cost_cloud_run_micros, cost_vercel_micros, cost_total_micros, migrated
  )
  select j.id, greatest(j.attempts, 1), j.batch_id, j.destination, j.model, j.generator, j.lease_owner,
         coalesce(j.started_at, j.finished_at, j.created_at),
         case when j.status = 'running' then null else coalesce(j.finished_at, j.updated_at) end,
         case j.status
           when 'running' then null
           when 'pending' then 'retry'
           else j.status
         end,
         j.error_code,
         j.input_tokens, j.output_tokens, j.cache_write_5m_tokens, j.cache_write_1h_tokens, j.cache_read_tokens,
         j.busy_ms, j.cost_input_micros, j.cost_output_micros, j.cost_cache_write_micros, j.cost_cache_read_micros,
         j.cost_cloud_run_micros, j.cost_vercel_micros, j.cost_total_micros, true
  from public.chapter_content_jobs j
  where (j.attempts > 0 or j.started_at is not null or j.cost_total_micros > 0 or j.input_tokens > 0)
    and not exists (select 1 from public.job_attempts a where a.job_id = j.id);
  get diagnostics v_rows = row_count;
  return v_rows;
end
$$;

select public.book_jobs_without_attempts();

-- Running jobs at migration time: their migrated row holds the earlier attempts' totals (closed
-- as 'retry'); the attempt under way gets its own open row.
update public.job_attempts a set ended_at = a.started_at, outcome = 'retry'
where a.migrated and a.ended_at is null;
insert into public.job_attempts (job_id, attempt, batch_id, destination, model, generator, worker, started_at)
select j.id, greatest(j.attempts, 1) + 1, j.batch_id, j.destination, j.model, j.generator, j.lease_owner,
       coalesce(j.started_at, now())
from public.chapter_content_jobs j
where j.status = 'running' and exists (select 1 from public.job_attempts a where a.job_id = j.id and a.migrated);

-- Internal: opens the ledger row of an attempt just claimed (claim_jobs, claim_job).
create function public.open_attempts(p_jobs uuid[], p_worker text) returns void
language sql as $$
  insert into public.job_attempts (job_id, attempt, batch_id, destination, model, worker, started_at)
  select j.id, coalesce((select max(a.attempt) from public.job_attempts a where a.job_id = j.id), 0) + 1,
         j.batch_id, j.destination, j.model, p_worker, j.started_at
  from public.chapter_content_jobs j
  where j.id = any(p_jobs)
$$;

create or replace function public.claim_jobs(p_worker text, p_lease_seconds integer, p_limit integer default 1)
returns setof public.chapter_content_jobs
language plpgsql as $$
begin
  -- PL/pgSQL (not SQL) so the plan is cached per connection: measured by bench:queue, planning
  -- this statement on every call cost more CPU than running it.
  return query
  with next as (
    select id from public.chapter_content_jobs
    where status = 'pending' and run_after <= now()
    order by public.priority_rank(priority), created_at, id
    limit p_limit
    for update skip locked
  ), claimed as (
    update public.chapter_content_jobs j
    set status = 'running',
        attempts = j.attempts + 1,
        lease_owner = p_worker,
        lease_expires_at = now() + make_interval(secs => p_lease_seconds),
        started_at = now(),
        first_token_at = null,
        progress_output_tokens = 0,
        progress_text = null,
        updated_at = now()
    from next
    where j.id = next.id
    returning j.*
  ), opened as (
    insert into public.job_attempts (job_id, attempt, batch_id, destination, model, worker, started_at)
    select c.id, coalesce((select max(a.attempt) from public.job_attempts a where a.job_id = c.id), 0) + 1,
           c.batch_id, c.destination, c.model, p_worker, c.started_at
    from claimed c
  )
  select * from claimed c order by public.priority_rank(c.priority), c.created_at, c.id;
end
$$;

create or replace function public.claim_job(p_job uuid, p_worker text, p_lease_seconds integer)
returns setof public.chapter_content_jobs
language plpgsql as $$
declare
  v_job public.chapter_content_jobs;
begin
  update public.chapter_content_jobs
  set status = 'running',
      attempts = attempts + 1,
      lease_owner = p_worker,
      lease_expires_at = now() + make_interval(secs => p_lease_seconds),
      started_at = now(),
      first_token_at = null,
      progress_output_tokens = 0,
      progress_text = null,
      updated_at = now()
  where id = p_job and status = 'pending'
  returning * into v_job;
  if v_job.id is null then
    return;
  end if;
  perform public.open_attempts(array[p_job], p_worker);
  return next v_job;
end
$$;

-- Internal: the attempt usage of p_usage (keys as finish_attempt documents) written over the
-- attempt row's running figures; with p_outcome, the attempt is closed in the same update.
create function public.set_attempt_usage(
  p_attempt bigint, p_usage jsonb, p_outcome text default null, p_error_code text default null
) returns public.job_attempts
language sql as $$
  update public.job_attempts
  set ended_at = case when p_outcome is null then ended_at else now() end,
      outcome = coalesce(p_outcome, outcome),
      error_code = case when p_outcome is null then error_code else p_error_code end,
      generator = coalesce(p_usage ->> 'generator', generator),
      input_tokens = coalesce((p_usage ->> 'input_tokens')::integer, input_tokens),
      output_tokens = coalesce((p_usage ->> 'output_tokens')::integer, output_tokens),
      cache_write_5m_tokens = coalesce((p_usage ->> 'cache_write_5m_tokens')::integer, cache_write_5m_tokens),
      cache_write_1h_tokens = coalesce((p_usage ->> 'cache_write_1h_tokens')::integer, cache_write_1h_tokens),
      cache_read_tokens = coalesce((p_usage ->> 'cache_read_tokens')::integer, cache_read_tokens),
      busy_ms = coalesce((p_usage ->> 'busy_ms')::integer, busy_ms),
      cost_input_micros = coalesce((p_usage ->> 'cost_input_micros')::bigint, cost_input_micros),
      cost_output_micros = coalesce((p_usage ->> 'cost_output_micros')::bigint, cost_output_micros),
      cost_cache_write_micros = coalesce((p_usage ->> 'cost_cache_write_micros')::bigint, cost_cache_write_micros),
      cost_cache_read_micros = coalesce((p_usage ->> 'cost_cache_read_micros')::bigint, cost_cache_read_micros),
      cost_cloud_run_micros = coalesce((p_usage ->> 'cost_cloud_run_micros')::bigint, cost_cloud_run_micros),
      cost_vercel_micros = coalesce((p_usage ->> 'cost_vercel_micros')::bigint, cost_vercel_micros),
      cost_total_micros = coalesce((p_usage ->> 'cost_input_micros')::bigint, cost_input_micros)
        + coalesce((p_usage ->> 'cost_output_micros')::bigint, cost_output_micros)
        + coalesce((p_usage ->> 'cost_cache_write_micros')::bigint, cost_cache_write_micros)
        + coalesce((p_usage ->> 'cost_cache_read_micros')::bigint, cost_cache_read_micros)
        + coalesce((p_usage ->> 'cost_cloud_run_micros')::bigint, cost_cloud_run_micros)
        + coalesce((p_usage ->> 'cost_vercel_micros')::bigint, cost_vercel_micros),
      unpriced = unpriced or coalesce((p_usage ->> 'unpriced')::boolean, false)
  where id = p_attempt
  returning *
$$;

-- Internal: adds the usage of attempt rows to their jobs' totals (called once per attempt, as
-- it is closed), so a job's totals are the sum of its ended attempts.
create function public.add_attempts_to_jobs(p_attempts bigint[]) returns void
language sql as $$
  update public.chapter_content_jobs j
  set generator = coalesce(a.generator, j.generator),
      input_tokens = j.input_tokens + a.input_tokens,
      output_tokens = j.output_tokens + a.output_tokens,
      cache_write_5m_tokens = j.cache_write_5m_tokens + a.cache_write_5m_tokens,
      cache_write_1h_tokens = j.cache_write_1h_tokens + a.cache_write_1h_tokens,
      cache_read_tokens = j.cache_read_tokens + a.cache_read_tokens,
      busy_ms = j.busy_ms + a.busy_ms,
      cost_input_micros = j.cost_input_micros + a.cost_input_micros,
      cost_output_micros = j.cost_output_micros + a.cost_output_micros,
      cost_cache_write_micros = j.cost_cache_write_micros + a.cost_cache_write_micros,
      cost_cache_read_micros = j.cost_cache_read_micros + a.cost_cache_read_micros,
      cost_cloud_run_micros = j.cost_cloud_run_micros + a.cost_cloud_run_micros,
      cost_vercel_micros = j.cost_vercel_micros + a.cost_vercel_micros,
      cost_total_micros = j.cost_total_micros + a.cost_total_micros
  from public.job_attempts a
  where a.id = any(p_attempts) and j.id = a.job_id
$$;

-- Progress now carries the attempt's usage and cost so far (p_usage, keys as finish_attempt's),
-- written into its open ledger row, so a dead attempt is booked from what it recorded.
drop function public.record_progress(uuid, text, integer, text);
create function public.record_progress(
  p_job uuid, p_worker text, p_output_tokens integer, p_text text, p_usage jsonb default null
)
returns boolean
language plpgsql as $$
begin
  update public.chapter_content_jobs
  set progress_output_tokens = p_output_tokens,
      progress_text = p_text,
      first_token_at = coalesce(first_token_at, case when p_text <> '' then now() end),
      updated_at = now()
  where id = p_job and status = 'running' and lease_owner = p_worker;
  if not found then
    return false;
  end if;
  if p_usage is not null then
    perform public.set_attempt_usage(a.id, p_usage)
    from public.job_attempts a where a.job_id = p_job and a.ended_at is null;
  end if;
  perform pg_notify('switchyard_jobs', json_build_object(
    'event', 'progress',
    'jobs', json_build_array(json_build_object('id', p_job, 'status', 'running', 'output_tokens', p_output_tokens))
  )::text);
  return true;
end
$$;

-- Ends the current attempt: its ledger row gets the attempt's final usage and outcome, and the
-- job, in ONE update (a second update of the same row would double the write and the dead
-- tuples), its new status and the attempt's usage added to its totals.
create or replace function public.finish_attempt(
  p_job uuid, p_usage jsonb, p_status text, p_attempts_delta integer,
  p_error_code text, p_error_message text, p_stop_reason text, p_run_after timestamptz
)
returns void
language plpgsql as $$
declare
  v_attempt bigint;
  a public.job_attempts;
begin
  select o.id into v_attempt from public.job_attempts o where o.job_id = p_job and o.ended_at is null;
  if v_attempt is null then
    -- A job claimed before the ledger existed: open its attempt now so its usage is booked.
    insert into public.job_attempts (job_id, attempt, batch_id, destination, model, worker, started_at)
    select j.id, coalesce((select max(o.attempt) from public.job_attempts o where o.job_id = j.id), 0) + 1,
           j.batch_id, j.destination, j.model, j.lease_owner, coalesce(j.started_at, now())
    from public.chapter_content_jobs j where j.id = p_job
    returning id into v_attempt;
  end if;
  a := public.set_attempt_usage(v_attempt, p_usage,
    case when p_attempts_delta < 0 then 'released' when p_status = 'pending' then 'retry' else p_status end,
    p_error_code);

  update public.chapter_content_jobs j
  set status = p_status,
      attempts = j.attempts + p_attempts_delta,
      stop_reason = p_stop_reason,
      error_code = p_error_code,
      error_message = p_error_message,
      run_after = coalesce(p_run_after, j.run_after),
      finished_at = case when p_status in ('succeeded', 'failed', 'cancelled') then now() end,
      lease_owner = null,
      lease_expires_at = null,
      consecutive_reaps = 0,
      progress_text = case when p_status = 'succeeded' then null else j.progress_text end,
      progress_output_tokens = case when p_status = 'succeeded'
        then j.output_tokens + a.output_tokens else j.progress_output_tokens end,
      updated_at = now(),
      generator = coalesce(a.generator, j.generator),
      input_tokens = j.input_tokens + a.input_tokens,
      output_tokens = j.output_tokens + a.output_tokens,
      cache_write_5m_tokens = j.cache_write_5m_tokens + a.cache_write_5m_tokens,
      cache_write_1h_tokens = j.cache_write_1h_tokens + a.cache_write_1h_tokens,
      cache_read_tokens = j.cache_read_tokens + a.cache_read_tokens,
      busy_ms = j.busy_ms + a.busy_ms,
      cost_input_micros = j.cost_input_micros + a.cost_input_micros,
      cost_output_micros = j.cost_output_micros + a.cost_output_micros,
      cost_cache_write_micros = j.cost_cache_write_micros + a.cost_cache_write_micros,
      cost_cache_read_micros = j.cost_cache_read_micros + a.cost_cache_read_micros,
      cost_cloud_run_micros = j.cost_cloud_run_micros + a.cost_cloud_run_micros,
      cost_vercel_micros = j.cost_vercel_micros + a.cost_vercel_micros,
      cost_total_micros = j.cost_total_micros + a.cost_total_micros
  where j.id = p_job;
end
$$;

-- The reaper also closes the attempts of the leases it takes back, as 'reaped', and adds what
-- they recorded to their jobs' totals.
create or replace function public.reap_expired_leases()
returns table (job_id uuid, status text)
language plpgsql as $$
#variable_conflict use_column
declare
  v_reaped uuid[];
  v_closed bigint[];
begin
  with expired as (
    select id from public.chapter_content_jobs
    where status = 'running' and lease_expires_at < now()
    for update skip locked
  ),
  decided as (
    select j.id,
      case
        when j.cancel_requested_at is not null then 'cancelled'
        when j.consecutive_reaps + 1 >= public.max_consecutive_reaps() then 'crashed'
        when j.attempts >= j.max_attempts then 'failed'
        else 'pending'
      end as outcome
    from public.chapter_content_jobs j
    join expired on expired.id = j.id
  ),
  reaped as (
    update public.chapter_content_jobs j
    set status = case decided.outcome when 'crashed' then 'failed' else decided.outcome end,
        consecutive_reaps = j.consecutive_reaps + 1,
        error_code = case decided.outcome
          when 'cancelled' then 'cancelled'
          when 'crashed' then 'worker_crashed'
          else 'lease_expired'
        end,
        error_message = case decided.outcome
          when 'cancelled' then 'Cancelled; its worker stopped before confirming.'
          when 'crashed' then 'Its worker stopped heartbeating ' || (j.consecutive_reaps + 1)
            || ' attempts in a row (last: ' || j.lease_owner || '): the job is failed so it cannot take down '
            || 'more workers. Check the worker logs for a crash, then retry it.'
          else 'Worker ' || j.lease_owner || ' stopped heartbeating; its lease expired.'
        end,
        finished_at = case when decided.outcome = 'pending' then null else now() end,
        run_after = case when decided.outcome = 'pending'
          then now() + public.retry_delay(j.retry_backoff, j.retry_base_ms, j.retry_max_ms, j.attempts)
          else now()
        end,
        lease_owner = null,
        lease_expires_at = null,
        updated_at = now()
    from decided
    where j.id = decided.id
    returning j.id
  )
  select coalesce(array_agg(reaped.id), '{}') into v_reaped from reaped;

  with closed as (
    update public.job_attempts a
    set ended_at = now(), outcome = 'reaped', error_code = 'lease_expired'
    where a.job_id = any(v_reaped) and a.ended_at is null
    returning a.id
  )
  select coalesce(array_agg(closed.id), '{}') into v_closed from closed;
  perform public.add_attempts_to_jobs(v_closed);
  return query select j.id, j.status from public.chapter_content_jobs j where j.id = any(v_reaped);
end
$$;

-- A worker whose lease was taken over (reaped, then maybe claimed by another) still spent what
-- its stream served. It books its attempt's final usage here: the attempt row the reaper closed
-- gets the final figures, and the job's totals the difference. Returns false when no attempt of
-- this worker was closed by the reaper (nothing to book).
create function public.book_lost_attempt(p_job uuid, p_worker text, p_usage jsonb)
returns boolean
language plpgsql as $$
declare
  v_before public.job_attempts;
  v_after public.job_attempts;
begin
  perform 1 from public.chapter_content_jobs where id = p_job for update;
  select * into v_before from public.job_attempts a
  where a.job_id = p_job and a.worker = p_worker and a.outcome = 'reaped'
  order by a.attempt desc limit 1;
  if v_before.id is null then
    return false;
  end if;
  perform public.set_attempt_usage(v_before.id, p_usage);
  select * into v_after from public.job_attempts where id = v_before.id;
  update public.chapter_content_jobs j
  set input_tokens = j.input_tokens + v_after.input_tokens - v_before.input_tokens,
      output_tokens = j.output_tokens + v_after.output_tokens - v_before.output_tokens,
      cache_write_5m_tokens = j.cache_write_5m_tokens + v_after.cache_write_5m_tokens - v_before.cache_write_5m_tokens,
      cache_write_1h_tokens = j.cache_write_1h_tokens + v_after.cache_write_1h_tokens - v_before.cache_write_1h_tokens,
      cache_read_tokens = j.cache_read_tokens + v_after.cache_read_tokens - v_before.cache_read_tokens,
      busy_ms = j.busy_ms + v_after.busy_ms - v_before.busy_ms,
      cost_input_micros = j.cost_input_micros + v_after.cost_input_micros - v_before.cost_input_micros,
      cost_output_micros = j.cost_output_micros + v_after.cost_output_micros - v_before.cost_output_micros,
      cost_cache_write_micros = j.cost_cache_write_micros + v_after.cost_cache_write_micros - v_before.cost_cache_write_micros,
      cost_cache_read_micros = j.cost_cache_read_micros + v_after.cost_cache_read_micros - v_before.cost_cache_read_micros,
      cost_cloud_run_micros = j.cost_cloud_run_micros + v_after.cost_cloud_run_micros - v_before.cost_cloud_run_micros,
      cost_vercel_micros = j.cost_vercel_micros + v_after.cost_vercel_micros - v_before.cost_vercel_micros,
      cost_total_micros = j.cost_total_micros + v_after.cost_total_micros - v_before.cost_total_micros
  where j.id = p_job;
  return true;
end
$$;

-- Cost rollups from the ledger: per day of the attempts' start, destination and model. Finished
-- days are materialised by refresh_job_rollups (the sweeper, every minute, for yesterday and
-- on); today and hourly ranges are computed live from job_attempts through its started_at index.
create table public.attempt_daily_costs (
  day date not null,
  destination text not null,
  model text not null,
  attempts integer not null,
  succeeded integer not null,
  unpriced integer not null,
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
  refreshed_at timestamptz not null default now(),
  primary key (day, destination, model)
);

comment on table public.attempt_daily_costs is
  'Per day (UTC, by the attempt''s start), destination and model: attempts, tokens and cost parts from the attempt ledger. Rebuilt for recent days by refresh_job_rollups().';

alter table public.attempt_daily_costs enable row level security;
create policy "Staff can read attempt cost rollups" on public.attempt_daily_costs
  for select to authenticated using (public.is_staff());
revoke all on public.attempt_daily_costs from anon, authenticated;
grant select on public.attempt_daily_costs to authenticated;

create function public.attempt_cost_buckets(p_from timestamptz, p_to timestamptz, p_unit text)
returns table (
  bucket timestamptz,
  destination text,
  model text,
  attempts integer,
  succeeded integer,
  unpriced integer,
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
  cost_total_micros bigint
)
language sql stable as $$
  select date_trunc(p_unit, a.started_at at time zone 'utc') at time zone 'utc', a.destination, a.model,
         count(*)::integer, (count(*) filter (where a.outcome = 'succeeded'))::integer,
         (count(*) filter (where a.unpriced))::integer,
         sum(a.input_tokens), sum(a.output_tokens), sum(a.cache_write_5m_tokens + a.cache_write_1h_tokens),
         sum(a.cache_read_tokens), sum(a.cost_input_micros), sum(a.cost_output_micros),
         sum(a.cost_cache_write_micros), sum(a.cost_cache_read_micros), sum(a.cost_cloud_run_micros),
         sum(a.cost_vercel_micros), sum(a.cost_total_micros)
  from public.job_attempts a
  where a.started_at >= p_from and a.started_at < p_to and p_unit in ('hour', 'day')
  group by 1, 2, 3
$$;

-- The job rollups as before, and the ledger's cost rollups for the same days. An attempt is
-- dated by its start, and none runs longer than a lease or an edge timeout (minutes), so
-- rebuilding from yesterday catches every attempt still changing.
create or replace function public.refresh_job_rollups(p_since date)
returns integer
language plpgsql as $$
declare
  v_rows integer;
  v_until timestamptz := (now() at time zone 'utc')::date::timestamp at time zone 'utc';
begin
  perform pg_advisory_xact_lock(7420063);
  delete from public.job_daily_rollups where day >= p_since;
  insert into public.job_daily_rollups
  select * from public.job_rollup_rows(p_since::timestamp at time zone 'utc', v_until);
  get diagnostics v_rows = row_count;
  delete from public.attempt_daily_costs where day >= p_since;
  insert into public.attempt_daily_costs
  select (b.bucket at time zone 'utc')::date, b.destination, b.model, b.attempts, b.succeeded, b.unpriced,
         b.input_tokens, b.output_tokens, b.cache_write_tokens, b.cache_read_tokens, b.cost_input_micros,
         b.cost_output_micros, b.cost_cache_write_micros, b.cost_cache_read_micros, b.cost_cloud_run_micros,
         b.cost_vercel_micros, b.cost_total_micros, now()
  from public.attempt_cost_buckets(p_since::timestamp at time zone 'utc', v_until, 'day') b;
  return v_rows;
end
$$;

-- Every day of the migrated ledger, once.
insert into public.attempt_daily_costs
select (b.bucket at time zone 'utc')::date, b.destination, b.model, b.attempts, b.succeeded, b.unpriced,
       b.input_tokens, b.output_tokens, b.cache_write_tokens, b.cache_read_tokens, b.cost_input_micros,
       b.cost_output_micros, b.cost_cache_write_micros, b.cost_cache_read_micros, b.cost_cloud_run_micros,
       b.cost_vercel_micros, b.cost_total_micros, now()
from public.attempt_cost_buckets('-infinity', (now() at time zone 'utc')::date::timestamp at time zone 'utc', 'day') b;

revoke execute on function
  public.book_jobs_without_attempts(),
  public.open_attempts(uuid[], text),
  public.claim_jobs(text, integer, integer),
  public.claim_job(uuid, text, integer),
  public.set_attempt_usage(bigint, jsonb, text, text),
  public.add_attempts_to_jobs(bigint[]),
  public.record_progress(uuid, text, integer, text, jsonb),
  public.finish_attempt(uuid, jsonb, text, integer, text, text, text, timestamptz),
  public.reap_expired_leases(),
  public.book_lost_attempt(uuid, text, jsonb),
  public.attempt_cost_buckets(timestamptz, timestamptz, text),
  public.refresh_job_rollups(date)
from public, anon, authenticated;
