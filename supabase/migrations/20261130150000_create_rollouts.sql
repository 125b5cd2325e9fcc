-- Progressive delivery for generation (issue 17, ADR 0018): a rollout changes one route rule's
-- target from a baseline to a candidate variant step by step; the sweeper analyses each interval
-- and moves to the next step, promotes, or rolls back. Jobs record the rollout and the variant
-- they were routed to, so the analysis compares the two over the same window.

create table public.rollouts (
  id uuid primary key default gen_random_uuid(),
  rule_id text not null,
  -- {destination, model, maxTokens}: what the rule's traffic runs with on each side.
  baseline jsonb not null,
  candidate jsonb not null,
  -- {steps: [percent…], intervalSeconds, minSample, maxFailures, thresholds: [{metric, kind, limit}]}
  plan jsonb not null,
  state text not null default 'running'
    check (state in ('running', 'paused', 'promoted', 'rolled_back', 'aborted')),
  step_index integer not null default 0 check (step_index >= 0),
  -- Percent of the rule's traffic (0–100, steps of 0.01) that goes to the candidate.
  weight numeric(5, 2) not null check (weight between 0 and 100),
  failures integer not null default 0 check (failures >= 0),
  step_started_at timestamptz not null default now(),
  next_analysis_at timestamptz not null,
  last_analysis jsonb,
  outcome jsonb,
  started_by text not null,
  started_at timestamptz not null default now(),
  finished_at timestamptz
);

comment on table public.rollouts is
  'Progressive rollouts of a route rule''s target: baseline and candidate variants, the plan (steps, interval, minimum sample, thresholds) and where it stands.';

-- One live rollout per rule: a second one on the same rule is refused.
create unique index rollouts_one_live_per_rule on public.rollouts (rule_id) where state in ('running', 'paused');
create index rollouts_started_at on public.rollouts (started_at desc);

create table public.rollout_events (
  id bigint generated always as identity primary key,
  rollout_id uuid not null references public.rollouts (id) on delete cascade,
  occurred_at timestamptz not null default now(),
  -- started, wait, pass, fail, step, promoted, rolled_back, aborted
  event text not null,
  actor text not null,
  weight numeric(5, 2) not null,
  detail jsonb not null default '{}'
);

comment on table public.rollout_events is
  'Every decision of a rollout (start, each analysis with its figures, step, promotion, rollback, abort), appended.';

create index rollout_events_rollout on public.rollout_events (rollout_id, id);

alter table public.chapter_content_jobs
  add column rollout_id uuid references public.rollouts (id) on delete set null,
  add column variant text check (variant in ('baseline', 'candidate'));

comment on column public.chapter_content_jobs.variant is
  'The rollout variant this job was routed to (with rollout_id); null outside a rollout.';

-- The analysis reads one rollout's jobs finished in a window.
create index chapter_content_jobs_rollout on public.chapter_content_jobs (rollout_id, finished_at)
  where rollout_id is not null;

alter table public.rollouts enable row level security;
alter table public.rollout_events enable row level security;

create policy "Staff can read rollouts" on public.rollouts
  for select to authenticated using (public.is_staff());
create policy "Staff can read rollout decisions" on public.rollout_events
  for select to authenticated using (public.is_staff());

revoke all on public.rollouts, public.rollout_events from anon, authenticated;
grant select on public.rollouts, public.rollout_events to authenticated;

-- insert_jobs as before, plus the rollout and variant a job was routed to.
create or replace function public.insert_jobs(p_jobs jsonb, p_batch_id uuid)
returns setof public.chapter_content_jobs
language sql as $$
  insert into public.chapter_content_jobs (
    chapter_id, batch_id, destination, route_rule_id, config_version, priority, timeout_ms,
    max_retries, max_attempts, retry_backoff, retry_base_ms, retry_max_ms,
    idempotency_key, created_by, model, max_tokens, temperature, dispatched_at, rollout_id, variant
  )
  select
    (j ->> 'chapter_id')::uuid,
    p_batch_id,
    coalesce(j ->> 'destination', 'cloud'),
    j ->> 'route_rule_id',
    (j ->> 'config_version')::integer,
    coalesce(j ->> 'priority', 'normal'),
    coalesce((j ->> 'timeout_ms')::integer, 300000),
    coalesce((j ->> 'max_retries')::integer, 2),
    coalesce((j ->> 'max_retries')::integer, 2) + 1,
    coalesce(j ->> 'retry_backoff', 'exponential'),
    coalesce((j ->> 'retry_base_ms')::integer, 1000),
    coalesce((j ->> 'retry_max_ms')::integer, 60000),
    j ->> 'idempotency_key',
    coalesce(j ->> 'created_by', 'system'),
    j ->> 'model',
    (j ->> 'max_tokens')::integer,
    (j ->> 'temperature')::numeric,
    case when coalesce((j ->> 'dispatched')::boolean, false) then now() end,
    (j ->> 'rollout_id')::uuid,
    j ->> 'variant'
  from jsonb_array_elements(p_jobs) with ordinality as t (j, n)
  order by n
  on conflict (idempotency_key) where idempotency_key is not null do nothing
  returning *
$$;
