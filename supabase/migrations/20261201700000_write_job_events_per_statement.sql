-- Job events of set-based claims and completions are written by the statement, not by the row
-- trigger (issue 18, ADR 0022).
--
-- Measured before this change (ADR 0019), the status trigger's job_events row was the largest
-- piece of a claim's and a completion's database time: a PL/pgSQL call, a one-row INSERT and
-- its foreign-key check per job, each queued as an after-trigger event. claim_jobs and
-- finish_attempts (under complete_jobs, fail_jobs, complete_job, fail_job, finish_attempt, so
-- the worker's batcher, the edge path, the Message Batches destination, the reaper's endings and
-- analytics jobs) now write the same rows in ONE INSERT ... SELECT from the rows their UPDATE
-- returns. Every other status change (submit, cancel, reap, batch dispatch, demo data, any
-- future function) still gets its row from the trigger, as before: the trigger stays the net
-- that no status change escapes.
--
-- How the trigger knows: the statements that write their own events set the transaction-local
-- setting switchyard.job_events_written to 'on' around their UPDATE, and the trigger's WHEN
-- clause skips rows while it is 'on' (a WHEN clause is evaluated as each row is updated, so no
-- after-trigger event is even queued). They set it back to 'off' right after; if the statement
-- fails, rolling back the (sub)transaction restores it. The rows are the trigger's rows: the
-- same event, from/to status, attempt and detail (public.job_transition_detail, which the
-- trigger now uses too), one per job whose status changed.

-- The detail of a status transition's event: the worker whose lease it started or ended, and
-- the new row's error, stop reason and (when pending again) when it may run.
create function public.job_transition_detail(
  p_to_status text, p_worker text, p_error_code text, p_error_message text, p_stop_reason text,
  p_run_after timestamptz
)
returns jsonb
language sql stable as $$
  select jsonb_strip_nulls(jsonb_build_object(
    'worker', p_worker,
    'error_code', p_error_code,
    'error_message', p_error_message,
    'stop_reason', p_stop_reason,
    'run_after', case when p_to_status = 'pending' then p_run_after end
  ))
$$;

comment on function public.job_transition_detail(text, text, text, text, text, timestamptz) is
  'The detail jsonb of a job_events status transition; shared by the status trigger and the '
  'statements that write their events themselves (claim_jobs, finish_attempts).';

create or replace function public.chapter_content_jobs_status_changed() returns trigger
language plpgsql as $$
begin
  insert into public.job_events (job_id, event, from_status, to_status, attempt, detail)
  values (
    new.id,
    case when tg_op = 'INSERT' then 'submitted' else new.status end,
    case when tg_op = 'INSERT' then null else old.status end,
    new.status,
    new.attempts,
    case when tg_op = 'INSERT' then '{}'::jsonb else public.job_transition_detail(
      new.status, coalesce(new.lease_owner, old.lease_owner), new.error_code, new.error_message,
      new.stop_reason, new.run_after
    ) end
  );
  return null;
end
$$;

comment on function public.chapter_content_jobs_status_changed() is
  'Appends the job_events row of a status transition, unless the statement writes its own '
  '(switchyard.job_events_written = on: claim_jobs, finish_attempts). Sends no NOTIFY.';

-- WARNING: a function that sets switchyard.job_events_written to 'on' must write the events of
-- every status change its statement makes, and set it back to 'off' before any other statement.
drop trigger chapter_content_jobs_status_updated on public.chapter_content_jobs;
create trigger chapter_content_jobs_status_updated
  after update of status on public.chapter_content_jobs
  for each row when (
    old.status is distinct from new.status
    and current_setting('switchyard.job_events_written', true) is distinct from 'on'
  )
  execute function public.chapter_content_jobs_status_changed();

-- claim_jobs as 20261130100200_create_spend_controls.sql left it, with each claim's
-- pending -> running events written by the claiming statement.
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
      perform set_config('switchyard.job_events_written', 'on', true);
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
      ), evented as (
        insert into public.job_events (job_id, event, from_status, to_status, attempt, detail)
        select c.id, c.status, 'pending', c.status, c.attempts,
               public.job_transition_detail(c.status, c.lease_owner, c.error_code, c.error_message, c.stop_reason, c.run_after)
        from claimed c
      )
      select coalesce(array_agg(c.id), '{}') into v_claimed from claimed c;
      perform set_config('switchyard.job_events_written', 'off', true);
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
  perform set_config('switchyard.job_events_written', 'on', true);
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
  ), evented as (
    insert into public.job_events (job_id, event, from_status, to_status, attempt, detail)
    select c.id, c.status, 'pending', c.status, c.attempts,
           public.job_transition_detail(c.status, c.lease_owner, c.error_code, c.error_message, c.stop_reason, c.run_after)
    from claimed c
  )
  select * from claimed c order by public.priority_rank(c.priority), c.created_at, c.id;
  perform set_config('switchyard.job_events_written', 'off', true);
end
$$;

-- WARNING: `create or replace` dropped claim_jobs' plan_cache_mode (20261201300100); restated.
alter function public.claim_jobs(text, integer, integer) set plan_cache_mode = force_generic_plan;

-- finish_attempts as 20261201300000_create_set_based_completions.sql left it, with each job's
-- transition event written by the ending statement.
create or replace function public.finish_attempts(
  p_jobs uuid[], p_usages jsonb[], p_statuses text[], p_attempts_deltas integer[],
  p_error_codes text[], p_error_messages text[], p_stop_reasons text[], p_run_afters timestamptz[]
)
returns void
language plpgsql as $$
begin
  -- Jobs claimed before the ledger existed: open their attempt now so their usage is booked.
  insert into public.job_attempts (job_id, attempt, batch_id, destination, model, worker, started_at)
  select j.id, coalesce((select max(o.attempt) from public.job_attempts o where o.job_id = j.id), 0) + 1,
         j.batch_id, j.destination, j.model, j.lease_owner, coalesce(j.started_at, now())
  from public.chapter_content_jobs j
  where j.id = any(p_jobs)
    and not exists (select 1 from public.job_attempts o where o.job_id = j.id and o.ended_at is null);

  perform set_config('switchyard.job_events_written', 'on', true);
  -- With each job as it was before this statement (the caller holds the row locks): where its
  -- transition starts, and whose lease it ended. (A CTE scanning the jobs by `id = any(p_jobs)`
  -- instead was rescanned per job in the join below: measured quadratic.)
  with f as (
    select u.*, p.status as from_status, p.lease_owner as from_lease_owner
    from unnest(
      p_jobs, p_usages, p_statuses, p_attempts_deltas, p_error_codes, p_error_messages, p_stop_reasons, p_run_afters
    ) as u (job_id, usage, status, attempts_delta, error_code, error_message, stop_reason, run_after)
    join public.chapter_content_jobs p on p.id = u.job_id
  ),
  closed as (
    update public.job_attempts a
    set ended_at = now(),
        outcome = case when f.attempts_delta < 0 then 'released' when f.status = 'pending' then 'retry' else f.status end,
        error_code = f.error_code,
        generator = coalesce(f.usage ->> 'generator', a.generator),
        input_tokens = coalesce((f.usage ->> 'input_tokens')::integer, a.input_tokens),
        output_tokens = coalesce((f.usage ->> 'output_tokens')::integer, a.output_tokens),
        cache_write_5m_tokens = coalesce((f.usage ->> 'cache_write_5m_tokens')::integer, a.cache_write_5m_tokens),
        cache_write_1h_tokens = coalesce((f.usage ->> 'cache_write_1h_tokens')::integer, a.cache_write_1h_tokens),
        cache_read_tokens = coalesce((f.usage ->> 'cache_read_tokens')::integer, a.cache_read_tokens),
        busy_ms = coalesce((f.usage ->> 'busy_ms')::integer, a.busy_ms),
        cost_input_micros = coalesce((f.usage ->> 'cost_input_micros')::bigint, a.cost_input_micros),
        cost_output_micros = coalesce((f.usage ->> 'cost_output_micros')::bigint, a.cost_output_micros),
        cost_cache_write_micros = coalesce((f.usage ->> 'cost_cache_write_micros')::bigint, a.cost_cache_write_micros),
        cost_cache_read_micros = coalesce((f.usage ->> 'cost_cache_read_micros')::bigint, a.cost_cache_read_micros),
        cost_cloud_run_micros = coalesce((f.usage ->> 'cost_cloud_run_micros')::bigint, a.cost_cloud_run_micros),
        cost_vercel_micros = coalesce((f.usage ->> 'cost_vercel_micros')::bigint, a.cost_vercel_micros),
        cost_total_micros = coalesce((f.usage ->> 'cost_input_micros')::bigint, a.cost_input_micros)
          + coalesce((f.usage ->> 'cost_output_micros')::bigint, a.cost_output_micros)
          + coalesce((f.usage ->> 'cost_cache_write_micros')::bigint, a.cost_cache_write_micros)
          + coalesce((f.usage ->> 'cost_cache_read_micros')::bigint, a.cost_cache_read_micros)
          + coalesce((f.usage ->> 'cost_cloud_run_micros')::bigint, a.cost_cloud_run_micros)
          + coalesce((f.usage ->> 'cost_vercel_micros')::bigint, a.cost_vercel_micros),
        unpriced = a.unpriced or coalesce((f.usage ->> 'unpriced')::boolean, false)
    from f
    where a.job_id = f.job_id and a.ended_at is null
    returning a.*
  ),
  finished as (
    update public.chapter_content_jobs j
    set status = f.status,
        attempts = j.attempts + f.attempts_delta,
        stop_reason = f.stop_reason,
        error_code = f.error_code,
        error_message = f.error_message,
        run_after = coalesce(f.run_after, j.run_after),
        finished_at = case when f.status in ('succeeded', 'failed', 'cancelled') then now() end,
        lease_owner = null,
        lease_expires_at = null,
        consecutive_reaps = 0,
        progress_text = case when f.status = 'succeeded' then null else j.progress_text end,
        progress_output_tokens = case when f.status = 'succeeded'
          then j.output_tokens + a.output_tokens else j.progress_output_tokens end,
        updated_at = now(),
        -- A job that ended before its first progress write: when the worker saw its first token.
        first_token_at = coalesce(j.first_token_at, (f.usage ->> 'first_token_at')::timestamptz),
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
    from closed a join f on f.job_id = a.job_id
    where j.id = a.job_id
    returning j.id, j.status, j.attempts, j.lease_owner, j.error_code, j.error_message, j.stop_reason, j.run_after,
              f.from_status, f.from_lease_owner
  )
  insert into public.job_events (job_id, event, from_status, to_status, attempt, detail)
  select d.id, d.status, d.from_status, d.status, d.attempts,
         public.job_transition_detail(d.status, coalesce(d.lease_owner, d.from_lease_owner), d.error_code,
                                      d.error_message, d.stop_reason, d.run_after)
  from finished d
  where d.from_status is distinct from d.status;
  perform set_config('switchyard.job_events_written', 'off', true);
end
$$;
