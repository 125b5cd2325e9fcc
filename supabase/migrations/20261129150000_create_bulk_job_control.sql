-- Cancel and retry any number of jobs in one call (as graphile-worker's permanently_fail_jobs).
--
-- Before: the Jobs page's bulk actions called cancel_job / retry_job once per job, one
-- transaction each (up to 200 round trips). Now cancel_jobs / retry_jobs take an array of ids
-- and change every job in a few set-based statements; cancel_job, retry_job and cancel_batch
-- are their one-element (or one-batch) case, so the rules live in one place.
--
-- Both return one row per distinct requested id, in request order: job_id, previous_status
-- (null when no job has the id) and status after the call (null likewise). The rules are those
-- of the single-job functions they replace:
--   cancel  pending → cancelled at once; running → flagged (cancel_requested_at, a
--           'cancel_requested' event and NOTIFY) and its worker ends it; finished: unchanged.
--   retry   failed or cancelled → pending with a fresh retry budget; others unchanged.
-- One change: retry also clears consecutive_reaps. A job failed as 'worker_crashed' has used up
-- its reaps in a row; without the reset its next reaped attempt would fail it again at once.
--
-- Rows are locked in id order first, so two bulk calls over overlapping sets cannot deadlock,
-- and the later statements read the locked, current rows (each plpgsql statement takes a new
-- snapshot under READ COMMITTED). bench:bulk measures 1,000 jobs per call.

-- Internal: locks the existing jobs among p_ids, in id order, and returns their ids and statuses.
create function public.lock_jobs(p_ids uuid[], out ids uuid[], out statuses text[])
language sql as $$
  select coalesce(array_agg(l.id order by l.id), '{}'), coalesce(array_agg(l.status order by l.id), '{}')
  from (
    select j.id, j.status from public.chapter_content_jobs j
    where j.id = any(p_ids) order by j.id for update
  ) l
$$;

create function public.cancel_jobs(p_ids uuid[], p_actor text)
returns table (job_id uuid, previous_status text, status text)
language plpgsql as $$
#variable_conflict use_column
declare
  v_ids uuid[];
  v_previous text[];
  v_notified integer;
begin
  select l.ids, l.statuses into v_ids, v_previous from public.lock_jobs(p_ids) l;

  update public.chapter_content_jobs j
  set status = 'cancelled', cancel_requested_at = now(), error_code = 'cancelled',
      error_message = 'Cancelled by ' || p_actor || ' before it started.',
      finished_at = now(), updated_at = now()
  where j.id = any(v_ids) and j.status = 'pending';

  -- One NOTIFY per job, as the status trigger sends: a bulk payload could pass NOTIFY's 8 kB limit.
  with stopping as (
    update public.chapter_content_jobs j
    set cancel_requested_at = now(), updated_at = now()
    where j.id = any(v_ids) and j.status = 'running' and j.cancel_requested_at is null
    returning j.id, j.attempts, j.batch_id
  ), logged as (
    insert into public.job_events (job_id, event, from_status, to_status, attempt, detail)
    select s.id, 'cancel_requested', 'running', 'running', s.attempts, jsonb_build_object('actor', p_actor)
    from stopping s
  )
  select count(pg_notify('switchyard_jobs', json_build_object(
    'event', 'cancel_requested',
    'jobs', json_build_array(json_build_object('id', s.id, 'status', 'running', 'batch_id', s.batch_id))
  )::text)) into v_notified
  from stopping s;

  return query select * from public.job_outcomes(p_ids, v_ids, v_previous);
end
$$;

create function public.retry_jobs(p_ids uuid[], p_actor text)
returns table (job_id uuid, previous_status text, status text)
language plpgsql as $$
#variable_conflict use_column
declare
  v_ids uuid[];
  v_previous text[];
begin
  select l.ids, l.statuses into v_ids, v_previous from public.lock_jobs(p_ids) l;

  with retried as (
    update public.chapter_content_jobs j
    set status = 'pending',
        max_attempts = j.attempts + j.max_retries + 1,
        run_after = now(),
        cancel_requested_at = null,
        error_code = null,
        error_message = null,
        stop_reason = null,
        finished_at = null,
        consecutive_reaps = 0,
        updated_at = now()
    where j.id = any(v_ids) and j.status in ('failed', 'cancelled')
    returning j.id
  )
  insert into public.job_events (job_id, event, from_status, to_status, detail)
  select r.id, 'retry_requested', null, 'pending', jsonb_build_object('actor', p_actor)
  from retried r;

  return query select * from public.job_outcomes(p_ids, v_ids, v_previous);
end
$$;

-- Internal: the outcome rows of cancel_jobs and retry_jobs (see the top of this file).
create function public.job_outcomes(p_requested uuid[], p_found uuid[], p_previous text[])
returns table (job_id uuid, previous_status text, status text)
language sql stable as $$
  select r.id, f.previous, j.status
  from (
    select u.id, min(u.n) as n from unnest(p_requested) with ordinality as u (id, n) group by u.id
  ) r
  left join unnest(p_found, p_previous) as f (id, previous) on f.id = r.id
  left join public.chapter_content_jobs j on j.id = r.id
  order by r.n
$$;

create or replace function public.cancel_job(p_job uuid, p_actor text)
returns text
language sql as $$
  select c.status from public.cancel_jobs(array[p_job], p_actor) c
$$;

create or replace function public.retry_job(p_job uuid, p_actor text)
returns text
language sql as $$
  select r.status from public.retry_jobs(array[p_job], p_actor) r
$$;

-- Same counts as before: cancelled at once, and running jobs asked to stop.
create or replace function public.cancel_batch(p_batch uuid, p_actor text)
returns table (cancelled integer, stopping integer)
language plpgsql as $$
begin
  update public.batches set cancel_requested_at = coalesce(cancel_requested_at, now())
  where id = p_batch;
  return query
  select (count(*) filter (where c.status = 'cancelled'))::integer,
         (count(*) filter (where c.status = 'running'))::integer
  from public.cancel_jobs(
    array(
      select j.id from public.chapter_content_jobs j
      where j.batch_id = p_batch and j.status in ('pending', 'running')
    ),
    p_actor
  ) c;
end
$$;

revoke execute on function
  public.cancel_jobs(uuid[], text),
  public.retry_jobs(uuid[], text),
  public.job_outcomes(uuid[], uuid[], text[]),
  public.lock_jobs(uuid[])
from public, anon, authenticated;
