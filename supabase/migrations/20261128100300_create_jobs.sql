-- The queue. A job exists once its row is committed; everything else (wake-ups, workers)
-- only moves it along. Status changes go through the functions in the next migration.

create table public.batches (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  idempotency_key text,
  job_count integer not null default 0,
  created_by text not null,
  created_at timestamptz not null default now(),
  cancel_requested_at timestamptz
);

comment on table public.batches is
  'A group of chapter jobs submitted together; written atomically with its jobs.';

create unique index batches_idempotency_key on public.batches (idempotency_key)
  where idempotency_key is not null;
create index batches_created_at on public.batches (created_at desc, id desc);

create table public.chapter_content_jobs (
  id uuid primary key default gen_random_uuid(),
  chapter_id uuid not null references public.chapters (id) on delete cascade,
  batch_id uuid references public.batches (id) on delete cascade,
  status text not null default 'pending'
    check (status in ('pending', 'running', 'succeeded', 'failed', 'cancelled')),

  -- The route decision that sent this job where it went.
  destination text not null default 'cloud' check (destination in ('edge', 'cloud')),
  route_rule_id text,
  config_version integer,
  priority text not null default 'normal' check (priority in ('high', 'normal', 'low')),
  timeout_ms integer not null default 300000 check (timeout_ms > 0),

  -- Retry policy and the queue's bookkeeping.
  attempts integer not null default 0 check (attempts >= 0),
  max_retries integer not null default 2 check (max_retries >= 0),
  max_attempts integer not null default 3 check (max_attempts >= 1),
  retry_backoff text not null default 'exponential'
    check (retry_backoff in ('none', 'linear', 'exponential')),
  retry_base_ms integer not null default 1000 check (retry_base_ms >= 0),
  retry_max_ms integer not null default 60000 check (retry_max_ms >= 0),
  run_after timestamptz not null default now(),
  lease_owner text,
  lease_expires_at timestamptz,
  cancel_requested_at timestamptz,
  idempotency_key text,
  created_by text not null,

  -- What to generate with.
  model text not null,
  max_tokens integer not null check (max_tokens between 1 and 128000),
  temperature numeric(3, 2) check (temperature between 0 and 1),
  generator text check (generator in ('anthropic', 'offline')),

  -- Progress while running; outcome when finished.
  progress_output_tokens integer not null default 0,
  progress_text text,
  stop_reason text,
  error_code text,
  error_message text,

  -- Lifecycle timestamps (started_at and first_token_at belong to the latest attempt).
  created_at timestamptz not null default now(),
  dispatched_at timestamptz,
  started_at timestamptz,
  first_token_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now(),

  -- Usage and cost, summed over every attempt (a failed attempt still spent tokens).
  input_tokens integer not null default 0,
  output_tokens integer not null default 0,
  cache_write_5m_tokens integer not null default 0,
  cache_write_1h_tokens integer not null default 0,
  cache_read_tokens integer not null default 0,
  busy_ms integer not null default 0,
  -- Micro-dollars (1e-6 USD) as integers, so sums never drift.
  cost_input_micros bigint not null default 0,
  cost_output_micros bigint not null default 0,
  cost_cache_write_micros bigint not null default 0,
  cost_cache_read_micros bigint not null default 0,
  cost_cloud_run_micros bigint not null default 0,
  cost_vercel_micros bigint not null default 0,
  -- Kept in the row (not a generated column: PostgreSQL 18 refuses updates of a table whose
  -- REPLICA IDENTITY FULL includes unpublished generated columns) and checked, so a total can
  -- never disagree with its parts.
  cost_total_micros bigint not null default 0,
  constraint cost_total_is_sum_of_parts check (
    cost_total_micros = cost_input_micros + cost_output_micros + cost_cache_write_micros
      + cost_cache_read_micros + cost_cloud_run_micros + cost_vercel_micros
  )
);

comment on table public.chapter_content_jobs is
  'One generation of one chapter: the queue row (status, lease, attempts), its route decision, progress, usage and cost.';

-- Claim order: high before normal before low. Immutable so an index can use it.
create function public.priority_rank(p_priority text) returns smallint
language sql immutable parallel safe as $$
  select case p_priority when 'high' then 0 when 'normal' then 1 else 2 end::smallint
$$;

-- claim_jobs reads this: pending jobs in priority then age order, without scanning
-- finished jobs (the vast majority of rows at scale).
create index chapter_content_jobs_claimable
  on public.chapter_content_jobs (public.priority_rank(priority), created_at, id) where status = 'pending';
-- reap_expired_leases reads this.
create index chapter_content_jobs_leases
  on public.chapter_content_jobs (lease_expires_at) where status = 'running';
create unique index chapter_content_jobs_idempotency_key
  on public.chapter_content_jobs (idempotency_key) where idempotency_key is not null;
create index chapter_content_jobs_created_at on public.chapter_content_jobs (created_at desc, id desc);
create index chapter_content_jobs_batch on public.chapter_content_jobs (batch_id) where batch_id is not null;
create index chapter_content_jobs_chapter on public.chapter_content_jobs (chapter_id);

create table public.job_events (
  id bigint generated always as identity primary key,
  job_id uuid not null references public.chapter_content_jobs (id) on delete cascade,
  occurred_at timestamptz not null default now(),
  event text not null,
  from_status text,
  to_status text,
  attempt integer,
  detail jsonb not null default '{}'
);

comment on table public.job_events is
  'Timeline of a job: every status transition and cancel request, appended by the queue functions.';

create index job_events_job on public.job_events (job_id, id);

create table public.worker_heartbeats (
  worker_id text primary key,
  host text not null,
  started_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  current_job_id uuid,
  jobs_succeeded integer not null default 0,
  jobs_failed integer not null default 0,
  stopped_at timestamptz
);

comment on table public.worker_heartbeats is
  'Worker instances (Cloud Run or local) and the job each is on; a row whose last_seen_at is older than the lease is stale.';

alter table public.batches enable row level security;
alter table public.chapter_content_jobs enable row level security;
alter table public.job_events enable row level security;
alter table public.worker_heartbeats enable row level security;

create policy "Staff can read batches" on public.batches
  for select to authenticated using (public.is_staff());
create policy "Staff can read jobs" on public.chapter_content_jobs
  for select to authenticated using (public.is_staff());
create policy "Staff can read job events" on public.job_events
  for select to authenticated using (public.is_staff());
create policy "Staff can read worker heartbeats" on public.worker_heartbeats
  for select to authenticated using (public.is_staff());

-- Writes happen only through the server's connection (the table owner), never from a browser.
revoke all on public.batches, public.chapter_content_jobs, public.job_events, public.worker_heartbeats
  from anon, authenticated;
grant select on public.batches, public.chapter_content_jobs, public.job_events, public.worker_heartbeats
  to authenticated;

-- Supabase Realtime streams changes of the tables in this publication; REPLICA IDENTITY FULL
-- lets subscribers receive the old row on updates too.
alter table public.chapter_content_jobs replica identity full;
alter table public.batches replica identity full;

do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
  if not exists (
    select 1 from pg_publication_tables
    where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'chapter_content_jobs'
  ) then
    alter publication supabase_realtime add table public.chapter_content_jobs;
  end if;
  if not exists (
    select 1 from pg_publication_tables
    where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'batches'
  ) then
    alter publication supabase_realtime add table public.batches;
  end if;
end
$$;
