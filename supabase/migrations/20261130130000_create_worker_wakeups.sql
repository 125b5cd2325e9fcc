-- The fleet: wake-ups in flight and the provider back-pressure state (ADR 0016).
--
-- Cloud Run with containerConcurrency 1 runs one instance per wake-up request held open, so the
-- number of open wake-ups is the number of instances working. Every app instance reserves its
-- wake-ups here, under one row lock, so together they never hold more than the fleet's maximum.

create table public.worker_wakeups (
  id uuid primary key default gen_random_uuid(),
  sent_at timestamptz not null default now(),
  -- The app instance (or sweep) that sent it.
  sent_by text not null,
  -- Until a worker picks it up: sent_at + the pickup allowance (cold start included); after:
  -- the worker's budget plus a margin. An open wake-up past this is lost and no longer counts.
  expires_at timestamptz not null,
  picked_up_at timestamptz,
  worker_id text,
  finished_at timestamptz,
  outcome text check (outcome in ('drained', 'stepped_down', 'refused', 'failed')),
  processed integer
);

comment on table public.worker_wakeups is
  'Wake-up requests sent to the worker service: one per Cloud Run instance working; open while finished_at is null and expires_at is ahead.';

create index worker_wakeups_open on public.worker_wakeups (sent_at, id) where finished_at is null;
create index worker_wakeups_sent_at on public.worker_wakeups (sent_at desc);

create table public.fleet_state (
  id boolean primary key default true check (id),
  -- AIMD: the concurrency the fleet stepped down to at the last 429/529, and when. The limit
  -- grows back by one wake-up every recover_step_seconds; null: no back-pressure.
  pressure_limit integer check (pressure_limit >= 1),
  pressure_at timestamptz,
  pressure_events integer not null default 0,
  last_pressure_code text,
  -- One step down per this many seconds: a burst of 429s from ten instances at once is one
  -- signal, not ten halvings.
  decrease_cooldown_seconds integer not null default 5 check (decrease_cooldown_seconds >= 0),
  recover_step_seconds integer not null default 15 check (recover_step_seconds >= 1)
);

comment on table public.fleet_state is
  'The single row of fleet-wide scaling state: AIMD back-pressure after provider 429/529 answers, and its tuning.';

insert into public.fleet_state default values;

alter table public.worker_wakeups enable row level security;
alter table public.fleet_state enable row level security;

create policy "Staff can read worker wake-ups" on public.worker_wakeups
  for select to authenticated using (public.is_staff());
create policy "Staff can read the fleet state" on public.fleet_state
  for select to authenticated using (public.is_staff());

-- The back-pressure limit now (null: none), from the last step down and the time since.
create function public.fleet_pressure_limit() returns integer
language sql stable as $$
  select case
    when f.pressure_limit is null then null
    else f.pressure_limit + floor(extract(epoch from (now() - f.pressure_at)) / f.recover_step_seconds)::integer
  end
  from public.fleet_state f
$$;

create function public.open_wakeup_count() returns integer
language sql stable as $$
  select count(*)::integer from public.worker_wakeups where finished_at is null and expires_at > now()
$$;

-- Reserves the wake-ups this moment needs: desired = min(runnable cloud jobs, p_max, the
-- back-pressure limit); it inserts (desired - open) rows, never below zero, and returns them.
-- The fleet_state row lock makes app instances reserve one after another.
create function public.reserve_wakeups(p_sender text, p_max integer, p_pickup_seconds integer)
returns table (desired integer, open_before integer, pressure_limit integer, wakeup_ids uuid[])
language plpgsql as $$
declare
  v_runnable integer;
  v_open integer;
  v_limit integer;
  v_desired integer;
  v_ids uuid[];
begin
  perform 1 from public.fleet_state for update;
  v_limit := public.fleet_pressure_limit();
  if v_limit is not null and v_limit >= p_max then
    -- Fully recovered: back-pressure is over.
    update public.fleet_state set pressure_limit = null, pressure_at = null;
    v_limit := null;
  end if;
  select count(*)::integer into v_runnable from (
    select 1 from public.chapter_content_jobs
    where status = 'pending' and run_after <= now() and destination = 'cloud'
    limit greatest(p_max, 0)
  ) r;
  v_open := public.open_wakeup_count();
  v_desired := least(v_runnable, p_max, coalesce(v_limit, p_max));
  with inserted as (
    insert into public.worker_wakeups (sent_by, expires_at)
    select p_sender, now() + make_interval(secs => p_pickup_seconds)
    from generate_series(1, greatest(v_desired - v_open, 0))
    returning id
  )
  select coalesce(array_agg(id), '{}') into v_ids from inserted;
  return query select v_desired, v_open, v_limit, v_ids;
end
$$;

-- A worker took the wake-up: it stays open for the worker's budget plus a margin.
create function public.pick_up_wakeup(p_wakeup uuid, p_worker text, p_budget_seconds integer)
returns boolean
language sql as $$
  update public.worker_wakeups
  set picked_up_at = now(), worker_id = p_worker,
      expires_at = now() + make_interval(secs => p_budget_seconds + 60)
  where id = p_wakeup and finished_at is null
  returning true
$$;

create function public.finish_wakeup(p_wakeup uuid, p_outcome text, p_processed integer)
returns void
language sql as $$
  update public.worker_wakeups
  set finished_at = now(), outcome = p_outcome, processed = p_processed
  where id = p_wakeup and finished_at is null
$$;

-- Between two jobs a worker asks whether its wake-up still fits under the back-pressure limit.
-- The newest wake-ups step down first, so the fleet shrinks to the limit.
create function public.wakeup_may_continue(p_wakeup uuid) returns boolean
language sql stable as $$
  select public.fleet_pressure_limit() is null
    or (
      select count(*) from public.worker_wakeups o, public.worker_wakeups w
      where w.id = p_wakeup and o.finished_at is null and o.expires_at > now()
        and (o.sent_at, o.id) <= (w.sent_at, w.id)
    ) <= public.fleet_pressure_limit()
$$;

-- A 429 or 529 the provider kept answering: the fleet steps down to half of what works now
-- (at least one), at most once per cooldown.
create function public.record_fleet_pressure(p_code text) returns integer
language plpgsql as $$
declare
  v_state public.fleet_state;
  v_current integer;
begin
  select * into v_state from public.fleet_state for update;
  update public.fleet_state set pressure_events = pressure_events + 1, last_pressure_code = p_code;
  if v_state.pressure_at is not null
     and now() - v_state.pressure_at < make_interval(secs => v_state.decrease_cooldown_seconds) then
    return public.fleet_pressure_limit();
  end if;
  v_current := least(coalesce(public.fleet_pressure_limit(), 2147483647), greatest(public.open_wakeup_count(), 1));
  update public.fleet_state set pressure_limit = greatest(v_current / 2, 1), pressure_at = now();
  return greatest(v_current / 2, 1);
end
$$;

-- Wake-ups are history after a week: the sweeper deletes them (about ten rows per batch).
create function public.prune_worker_wakeups() returns integer
language sql as $$
  with gone as (
    delete from public.worker_wakeups where sent_at < now() - interval '7 days' returning 1
  )
  select count(*)::integer from gone
$$;

revoke execute on function public.reserve_wakeups(text, integer, integer) from public, anon, authenticated;
revoke execute on function public.pick_up_wakeup(uuid, text, integer) from public, anon, authenticated;
revoke execute on function public.finish_wakeup(uuid, text, integer) from public, anon, authenticated;
revoke execute on function public.record_fleet_pressure(text) from public, anon, authenticated;
revoke execute on function public.prune_worker_wakeups() from public, anon, authenticated;
