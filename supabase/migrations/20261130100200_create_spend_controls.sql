-- Budgets that act (ADR 0013): per-batch spend caps checked by the claim, a monthly budget that
-- pauses claims of non-high jobs, and spend alerts.
--
-- Batch caps. A batch may carry max_cost_micros. Its jobs share one model and max_tokens, so one
-- per-job estimate (job_estimate_micros, the submit-time upper bound) is what each running
-- attempt reserves against the cap. claim_jobs locks each capped batch row it would claim from
-- (id order, so claimers cannot deadlock) and then reads, from the attempt ledger, what the
-- batch's ended attempts cost and how many attempts run; it claims only the jobs whose estimates
-- fit beside those. Two workers racing on a batch at its cap queue on that row lock, and the
-- second reads the first's committed attempts, so together they never claim past the cap. Ending
-- an attempt touches no batch row (a per-attempt update of the batch would serialise its
-- workers' commits). When not even one more job fits on what is already spent, the batch is
-- paused (paused_at and a reason): its pending jobs stay pending and no worker claims them until
-- finance or admin resumes it (resume_batch, which lifts the cap) or raises the cap
-- (set_batch_cap). Attempts running at that moment finish; what they spend beyond the cap shows
-- as overshoot.
--
-- Monthly budget. check_spend() (run by refresh_job_rollups, i.e. the sweeper every minute, and
-- after a budget is set) compares the month to date, read from the ledger, with the budget:
-- alerts at 50, 80 and 100 %, and at 100 % reached_at is set, which makes claim_jobs skip every
-- job that is not `high` until the budget is raised or resumed. A per-attempt counter would have
-- made every attempt's commit update one row (the serialisation ADR 0006 avoids); the price of
-- the minute's cadence is up to one minute of spend past the budget, shown on the Costs page.

alter table public.batches
  add column max_cost_micros bigint check (max_cost_micros > 0),
  add column job_estimate_micros bigint not null default 0 check (job_estimate_micros >= 0),
  add column estimate_micros bigint check (estimate_micros >= 0),
  add column paused_at timestamptz,
  add column paused_reason text;

comment on column public.batches.max_cost_micros is
  'Spend cap of the batch (µ$); null = no cap. Claims stop when the next job''s estimate no longer fits.';
comment on column public.batches.job_estimate_micros is
  'Upper-bound cost of one job of the batch: what each running attempt reserves against the cap.';

-- The claim reads the paused batches once per call.
create index batches_paused on public.batches (id) where paused_at is not null;

alter table public.cost_budgets
  add column reached_at timestamptz,
  add column resumed_at timestamptz,
  add column resumed_by text;

create table public.spend_alerts (
  id bigint generated always as identity primary key,
  kind text not null check (kind in ('budget_50', 'budget_80', 'budget_100', 'batch_paused')),
  -- One alert per threshold and month, or per pause of a batch.
  dedupe_key text not null unique,
  batch_id uuid references public.batches (id) on delete cascade,
  message text not null,
  created_at timestamptz not null default now(),
  -- Webhook delivery (ALERT_WEBHOOK_URL): retried with backoff until delivered.
  delivered_at timestamptz,
  delivery_attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text
);

comment on table public.spend_alerts is
  'Spend alerts (budget at 50/80/100 %, a batch paused at its cap): shown to finance and admin on every page, and posted once to the alert webhook.';

create index spend_alerts_undelivered on public.spend_alerts (next_attempt_at) where delivered_at is null;
create index spend_alerts_created_at on public.spend_alerts (created_at desc);

alter table public.spend_alerts enable row level security;
create policy "Staff can read spend alerts" on public.spend_alerts for select to authenticated using (public.is_staff());
revoke all on public.spend_alerts from anon, authenticated;
grant select on public.spend_alerts to authenticated;

-- Whether this month's budget is reached and not resumed: claims of non-high jobs wait.
create function public.budget_paused() returns boolean
language sql stable as $$
  select exists (
    select 1 from public.cost_budgets
    where month = date_trunc('month', now() at time zone 'utc')::date
      and reached_at is not null and resumed_at is null
  )
$$;

-- Pauses a capped batch (no-op when already paused) and raises its alert.
create function public.pause_batch(p_batch uuid, p_reason text) returns void
language plpgsql as $$
declare
  v_paused timestamptz;
begin
  update public.batches set paused_at = now(), paused_reason = p_reason
  where id = p_batch and paused_at is null
  returning paused_at into v_paused;
  if v_paused is not null then
    insert into public.spend_alerts (kind, dedupe_key, batch_id, message)
    select 'batch_paused', 'batch_paused:' || p_batch || ':' || extract(epoch from v_paused), p_batch,
           'Batch "' || b.name || '" paused: ' || p_reason
    from public.batches b where b.id = p_batch
    on conflict (dedupe_key) do nothing;
  end if;
end
$$;

create or replace function public.claim_jobs(p_worker text, p_lease_seconds integer, p_limit integer default 1)
returns setof public.chapter_content_jobs
language plpgsql as $$
declare
  v_ids uuid[];
  v_batches uuid[];
  v_capped uuid[];
  v_take uuid[];
  v_allowed uuid[];
  -- Capped batches with no room now: the next pass looks past them, so a full batch at the head
  -- of the queue does not hold up the jobs behind it.
  v_full uuid[] := '{}';
  v_paused uuid[];
  v_claimed uuid[];
  v_budget_paused boolean;
  v_batch record;
  v_spent bigint;
  v_running bigint;
  v_room bigint;
begin
  -- PL/pgSQL (not SQL) so the plans are cached per connection: measured by bench:queue, planning
  -- on every call cost more CPU than running it.
  --
  -- WARNING: the candidate query must stay as cheap per pending row as before caps. A join with
  -- batches (or a function call per row) made the planner sort every pending job with the extra
  -- work on each: 3x slower claims in bench:queue. So what is the same for every row (is the
  -- budget reached, which batches are paused) is read once, into variables, before it.
  v_budget_paused := public.budget_paused();
  v_paused := array(select b.id from public.batches b where b.paused_at is not null);
  for v_pass in 1..3 loop
    select coalesce(array_agg(n.id order by n.rank, n.created_at, n.id), '{}'),
           coalesce(array_agg(n.batch_id order by n.rank, n.created_at, n.id), '{}')
    into v_ids, v_batches
    from (
      select j.id, j.batch_id, j.created_at, public.priority_rank(j.priority) as rank
      from public.chapter_content_jobs j
      where j.status = 'pending' and j.run_after <= now()
        and (j.priority = 'high' or not v_budget_paused)
        and (j.batch_id is null or not (j.batch_id = any(v_paused) or j.batch_id = any(v_full)))
      order by public.priority_rank(j.priority), j.created_at, j.id
      limit p_limit
      for update of j skip locked
    ) n;
    v_capped := array(
      select b.id from public.batches b where b.id = any(v_batches) and b.max_cost_micros is not null
    );

    exit when cardinality(v_capped) = 0;

    -- WARNING: FOR NO KEY UPDATE, not FOR UPDATE: each claimer's ledger rows hold a KEY SHARE lock
    -- on their batch (the foreign key), which FOR UPDATE would wait for: two claimers deadlocked.
    --
    -- Fast path: claim first, then check the caps under each batch's row lock. The claimed rows'
    -- updates, events and ledger rows are written before the lock is taken, so claimers of one
    -- batch queue only for the check and the commit. If a cap would be passed, the claim is
    -- undone (this block is a subtransaction) and the careful path below takes what fits.
    begin
      with claimed as (
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
        where j.id = any(v_ids)
        returning j.*
      ), opened as (
        insert into public.job_attempts (job_id, attempt, batch_id, destination, model, worker, started_at)
        select c.id, coalesce((select max(a.attempt) from public.job_attempts a where a.job_id = c.id), 0) + 1,
               c.batch_id, c.destination, c.model, p_worker, c.started_at
        from claimed c
      )
      select coalesce(array_agg(c.id), '{}') into v_claimed from claimed c;
      for v_batch in
        select b.id, b.max_cost_micros, b.job_estimate_micros
        from public.batches b where b.id = any(v_capped) order by b.id for no key update
      loop
        -- After the lock: every committed attempt, and this claim's own, are counted.
        select coalesce(sum(a.cost_total_micros) filter (where a.ended_at is not null), 0),
               count(*) filter (where a.ended_at is null)
        into v_spent, v_running
        from public.job_attempts a where a.batch_id = v_batch.id;
        if v_spent + v_running * v_batch.job_estimate_micros > v_batch.max_cost_micros
           or v_spent >= v_batch.max_cost_micros then
          raise exception 'batch % would pass its cap', v_batch.id using errcode = 'SW409';
        end if;
      end loop;
      return query
      select * from public.chapter_content_jobs j where j.id = any(v_claimed)
      order by public.priority_rank(j.priority), j.created_at, j.id;
      return;
    exception when sqlstate 'SW409' then
      null;
    end;

    -- The careful path: under each capped batch's row lock, with what is committed.
    v_allowed := '{}';
    for v_batch in
      select b.id, b.max_cost_micros, b.job_estimate_micros
      from public.batches b where b.id = any(v_capped) order by b.id for no key update
    loop
      -- A new snapshot, taken after the lock: every attempt of a claimer that held it is seen.
      select coalesce(sum(a.cost_total_micros) filter (where a.ended_at is not null), 0),
             count(*) filter (where a.ended_at is null)
      into v_spent, v_running
      from public.job_attempts a where a.batch_id = v_batch.id;
      v_room := case
        when v_batch.job_estimate_micros = 0 then
          case when v_spent < v_batch.max_cost_micros then p_limit else 0 end
        else (v_batch.max_cost_micros - v_spent - v_running * v_batch.job_estimate_micros) / v_batch.job_estimate_micros
      end;
      select coalesce(array_agg(u.id order by u.n), '{}') into v_take
      from (
        select c.id, c.n from unnest(v_ids, v_batches) with ordinality as c (id, batch_id, n)
        where c.batch_id = v_batch.id order by c.n limit greatest(v_room, 0)
      ) u;
      if cardinality(v_take) > 0 then
        v_allowed := v_allowed || v_take;
      else
        v_full := v_full || v_batch.id;
        if v_spent + greatest(v_batch.job_estimate_micros, 1) > v_batch.max_cost_micros then
          perform public.pause_batch(v_batch.id, format(
            'it has spent $%s of its $%s cap, and its next job may cost up to $%s. Resume it or raise its cap.',
            to_char(v_spent / 1e6, 'FM999999990.00'),
            to_char(v_batch.max_cost_micros / 1e6, 'FM999999990.00'),
            to_char(v_batch.job_estimate_micros / 1e6, 'FM999999990.00')));
        end if;
      end if;
    end loop;
    v_ids := array(
      select c.id from unnest(v_ids, v_batches) as c (id, batch_id)
      where c.batch_id is null or not (c.batch_id = any(v_capped))
    ) || v_allowed;
    -- Another pass only when a full batch took every slot of this one.
    exit when cardinality(v_ids) > 0 or cardinality(v_full) = 0;
  end loop;

  if cardinality(v_ids) = 0 then
    return;
  end if;
  return query
  with claimed as (
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
    where j.id = any(v_ids)
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

-- Sets (or removes, with null) a batch's cap and its per-job estimate; a paused batch whose next
-- job now fits on what it has spent is resumed. Returns the batch's paused_at after the change
-- (null: it runs), or raises no_data_found for an unknown batch.
create function public.set_batch_cap(p_batch uuid, p_max_cost_micros bigint, p_job_estimate_micros bigint)
returns timestamptz
language plpgsql as $$
declare
  v_paused timestamptz;
begin
  update public.batches b
  set max_cost_micros = p_max_cost_micros,
      job_estimate_micros = coalesce(p_job_estimate_micros, b.job_estimate_micros),
      estimate_micros = coalesce(p_job_estimate_micros, b.job_estimate_micros) * b.job_count
  where b.id = p_batch;
  if not found then
    raise no_data_found using message = 'no batch ' || p_batch;
  end if;
  update public.batches b
  set paused_at = null, paused_reason = null
  where b.id = p_batch and b.paused_at is not null
    and (b.max_cost_micros is null or greatest(b.job_estimate_micros, 1) + (
      select coalesce(sum(a.cost_total_micros), 0) from public.job_attempts a where a.batch_id = b.id
    ) <= b.max_cost_micros);
  select paused_at into v_paused from public.batches where id = p_batch;
  return v_paused;
end
$$;

-- Resumes a paused batch by lifting its cap (what it has spent stays on the Costs page).
-- Returns 'resumed', 'not_paused' or null when no batch has the id.
create function public.resume_batch(p_batch uuid) returns text
language plpgsql as $$
declare
  v_paused timestamptz;
begin
  select paused_at into v_paused from public.batches where id = p_batch for update;
  if not found then
    return null;
  end if;
  if v_paused is null then
    return 'not_paused';
  end if;
  update public.batches set paused_at = null, paused_reason = null, max_cost_micros = null where id = p_batch;
  return 'resumed';
end
$$;

-- Month to date from the ledger (finished days' rollups plus today's attempts) against the
-- budget: alerts at 50/80/100 % (once each per month), and reached_at at 100 %; cleared when a
-- raised budget is above the spend again. Returns the month to date in µ$.
create function public.check_spend() returns bigint
language plpgsql as $$
declare
  v_month date := date_trunc('month', now() at time zone 'utc')::date;
  v_today date := (now() at time zone 'utc')::date;
  v_spent bigint;
  v_budget public.cost_budgets;
  v_threshold integer;
begin
  select coalesce((select sum(cost_total_micros) from public.attempt_daily_costs where day >= v_month and day < v_today), 0)
       + coalesce((select sum(cost_total_micros) from public.job_attempts
                   where started_at >= v_today::timestamp at time zone 'utc'), 0)
  into v_spent;
  select * into v_budget from public.cost_budgets where month = v_month for update;
  if v_budget.month is null or v_budget.amount_micros = 0 then
    return v_spent;
  end if;
  foreach v_threshold in array array[50, 80, 100] loop
    if v_spent * 100 >= v_budget.amount_micros * v_threshold then
      insert into public.spend_alerts (kind, dedupe_key, message)
      values ('budget_' || v_threshold, 'budget_' || v_threshold || ':' || v_month,
              format('Spend this month is $%s: %s%% of the $%s budget%s.',
                     to_char(v_spent / 1e6, 'FM999999990.00'), v_threshold,
                     to_char(v_budget.amount_micros / 1e6, 'FM999999990.00'),
                     case when v_threshold = 100 then '; claims of jobs that are not high priority are paused' else '' end))
      on conflict (dedupe_key) do nothing;
    end if;
  end loop;
  if v_spent >= v_budget.amount_micros and v_budget.reached_at is null then
    update public.cost_budgets set reached_at = now() where month = v_month;
  elsif v_spent < v_budget.amount_micros and v_budget.reached_at is not null then
    update public.cost_budgets set reached_at = null, resumed_at = null, resumed_by = null where month = v_month;
  end if;
  return v_spent;
end
$$;

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
  -- The sweeper runs this every minute: the budget check rides along.
  perform public.check_spend();
  return v_rows;
end
$$;

revoke execute on function
  public.budget_paused(),
  public.pause_batch(uuid, text),
  public.claim_jobs(text, integer, integer),
  public.set_batch_cap(uuid, bigint, bigint),
  public.resume_batch(uuid),
  public.check_spend(),
  public.refresh_job_rollups(date)
from public, anon, authenticated;
