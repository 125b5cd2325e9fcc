-- Queue operations, one function each, shared by every caller (app, worker, tests).
-- Each status transition appends a job_events row and sends NOTIFY on channel
-- 'switchyard_jobs' from one trigger, so no code path can change a status without both.
-- Payload: {"event": "status" | "progress" | "cancel_requested",
--           "jobs": [{"id", "status", "batch_id"}, ...]}.
--
-- Measured (bench:queue): the trigger is about 45% of the database CPU of a job, and the NOTIFY
-- the largest part of it, because PostgreSQL serialises the commits of notifying transactions.
-- A statement-level variant with transition tables was slower (1,410 vs 1,795 jobs/s), so this
-- stays a row trigger limited to status changes.

create function public.chapter_content_jobs_status_changed() returns trigger
language plpgsql as $$
begin
  insert into public.job_events (job_id, event, from_status, to_status, attempt, detail)
  values (
    new.id,
    case when tg_op = 'INSERT' then 'submitted' else new.status end,
    case when tg_op = 'INSERT' then null else old.status end,
    new.status,
    new.attempts,
    case when tg_op = 'INSERT' then '{}'::jsonb else jsonb_strip_nulls(jsonb_build_object(
      'worker', coalesce(new.lease_owner, old.lease_owner),
      'error_code', new.error_code,
      'error_message', new.error_message,
      'stop_reason', new.stop_reason,
      'run_after', case when new.status = 'pending' then new.run_after end
    )) end
  );
  perform pg_notify('switchyard_jobs', json_build_object(
    'event', 'status',
    'jobs', json_build_array(json_build_object('id', new.id, 'status', new.status, 'batch_id', new.batch_id))
  )::text);
  return null;
end
$$;

create trigger chapter_content_jobs_status_inserted
  after insert on public.chapter_content_jobs
  for each row execute function public.chapter_content_jobs_status_changed();

create trigger chapter_content_jobs_status_updated
  after update of status on public.chapter_content_jobs
  for each row when (old.status is distinct from new.status)
  execute function public.chapter_content_jobs_status_changed();

-- The one place that turns job JSON into rows, so submit_job and submit_batch agree on
-- defaults. Keys: chapter_id (required), model, max_tokens, temperature, priority,
-- destination, route_rule_id, config_version, timeout_ms, max_retries, retry_backoff,
-- retry_base_ms, retry_max_ms, idempotency_key, created_by, dispatched (true when the caller
-- wakes a worker right after commit: dispatched_at is then set here, not by a later update that
-- would hold the row lock and make a concurrent SKIP LOCKED claim pass the job by).
create function public.insert_jobs(p_jobs jsonb, p_batch_id uuid)
returns setof public.chapter_content_jobs
language sql as $$
  insert into public.chapter_content_jobs (
    chapter_id, batch_id, destination, route_rule_id, config_version, priority, timeout_ms,
    max_retries, max_attempts, retry_backoff, retry_base_ms, retry_max_ms,
    idempotency_key, created_by, model, max_tokens, temperature, dispatched_at
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
    case when coalesce((j ->> 'dispatched')::boolean, false) then now() end
  from jsonb_array_elements(p_jobs) with ordinality as t (j, n)
  order by n
  on conflict (idempotency_key) where idempotency_key is not null do nothing
  returning *
$$;

-- Submit one job. With an idempotency key already used, returns that job and created=false.
create function public.submit_job(p_job jsonb)
returns table (job_id uuid, created boolean)
language plpgsql as $$
declare
  v_id uuid;
begin
  select id into v_id from public.insert_jobs(jsonb_build_array(p_job), null);
  if v_id is not null then
    return query select v_id, true;
  else
    return query
      select j.id, false from public.chapter_content_jobs j
      where j.idempotency_key = p_job ->> 'idempotency_key';
  end if;
end
$$;

-- Submit a batch atomically: the batch row and all its jobs, or (on any error) nothing.
-- With an idempotency key already used, returns the existing batch and created=false.
create function public.submit_batch(p_batch jsonb, p_jobs jsonb)
returns table (batch_id uuid, created boolean)
language plpgsql as $$
declare
  v_batch uuid;
begin
  insert into public.batches (name, idempotency_key, job_count, created_by)
  values (
    coalesce(p_batch ->> 'name', 'Batch'),
    p_batch ->> 'idempotency_key',
    jsonb_array_length(p_jobs),
    coalesce(p_batch ->> 'created_by', 'system')
  )
  on conflict (idempotency_key) where idempotency_key is not null do nothing
  returning id into v_batch;

  if v_batch is null then
    return query
      select b.id, false from public.batches b where b.idempotency_key = p_batch ->> 'idempotency_key';
    return;
  end if;

  perform public.insert_jobs(p_jobs, v_batch);
  return query select v_batch, true;
end
$$;

-- Claim up to p_limit due jobs for one worker: highest priority first, then oldest.
-- SKIP LOCKED lets any number of workers claim concurrently without waiting on each
-- other or ever taking the same job.
create function public.claim_jobs(p_worker text, p_lease_seconds integer, p_limit integer default 1)
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
  )
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
  returning j.*;
end
$$;

-- Extend a lease. lease_held=false means the job is no longer this worker's (reaped,
-- finished or cancelled): the worker must stop without writing anything.
create function public.heartbeat_job(p_job uuid, p_worker text, p_lease_seconds integer)
returns table (lease_held boolean, cancel_requested boolean)
language plpgsql as $$
declare
  v_cancel timestamptz;
begin
  update public.chapter_content_jobs
  set lease_expires_at = now() + make_interval(secs => p_lease_seconds), updated_at = now()
  where id = p_job and status = 'running' and lease_owner = p_worker
  returning cancel_requested_at into v_cancel;
  if not found then
    return query select false, false;
  else
    return query select true, v_cancel is not null;
  end if;
end
$$;

-- Record streaming progress (throttled by the caller) and notify live viewers.
create function public.record_progress(p_job uuid, p_worker text, p_output_tokens integer, p_text text)
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
  perform pg_notify('switchyard_jobs', json_build_object(
    'event', 'progress',
    'jobs', json_build_array(json_build_object('id', p_job, 'status', 'running', 'output_tokens', p_output_tokens))
  )::text);
  return true;
end
$$;

-- Ends the current attempt of a job in ONE update (a second update of the same row would
-- double the write and the dead tuples): adds the attempt's usage and cost to the totals and
-- sets the new status and its fields. Keys of p_usage: generator, input_tokens, output_tokens,
-- cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, busy_ms, cost_input_micros,
-- cost_output_micros, cost_cache_write_micros, cost_cache_read_micros, cost_cloud_run_micros,
-- cost_vercel_micros. Internal: called by complete_job, fail_job and release_job.
create function public.finish_attempt(
  p_job uuid, p_usage jsonb, p_status text, p_attempts_delta integer,
  p_error_code text, p_error_message text, p_stop_reason text, p_run_after timestamptz
)
returns void
language plpgsql as $$
begin
  update public.chapter_content_jobs
  set status = p_status,
      attempts = attempts + p_attempts_delta,
      stop_reason = p_stop_reason,
      error_code = p_error_code,
      error_message = p_error_message,
      run_after = coalesce(p_run_after, run_after),
      finished_at = case when p_status in ('succeeded', 'failed', 'cancelled') then now() end,
      lease_owner = null,
      lease_expires_at = null,
      progress_text = case when p_status = 'succeeded' then null else progress_text end,
      updated_at = now(),
      generator = coalesce(p_usage ->> 'generator', generator),
      input_tokens = input_tokens + coalesce((p_usage ->> 'input_tokens')::integer, 0),
      output_tokens = output_tokens + coalesce((p_usage ->> 'output_tokens')::integer, 0),
      progress_output_tokens = case when p_status = 'succeeded'
        then output_tokens + coalesce((p_usage ->> 'output_tokens')::integer, 0) else progress_output_tokens end,
      cache_write_5m_tokens = cache_write_5m_tokens + coalesce((p_usage ->> 'cache_write_5m_tokens')::integer, 0),
      cache_write_1h_tokens = cache_write_1h_tokens + coalesce((p_usage ->> 'cache_write_1h_tokens')::integer, 0),
      cache_read_tokens = cache_read_tokens + coalesce((p_usage ->> 'cache_read_tokens')::integer, 0),
      busy_ms = busy_ms + coalesce((p_usage ->> 'busy_ms')::integer, 0),
      cost_input_micros = cost_input_micros + coalesce((p_usage ->> 'cost_input_micros')::bigint, 0),
      cost_output_micros = cost_output_micros + coalesce((p_usage ->> 'cost_output_micros')::bigint, 0),
      cost_cache_write_micros = cost_cache_write_micros + coalesce((p_usage ->> 'cost_cache_write_micros')::bigint, 0),
      cost_cache_read_micros = cost_cache_read_micros + coalesce((p_usage ->> 'cost_cache_read_micros')::bigint, 0),
      cost_cloud_run_micros = cost_cloud_run_micros + coalesce((p_usage ->> 'cost_cloud_run_micros')::bigint, 0),
      cost_vercel_micros = cost_vercel_micros + coalesce((p_usage ->> 'cost_vercel_micros')::bigint, 0),
      cost_total_micros = cost_total_micros
        + coalesce((p_usage ->> 'cost_input_micros')::bigint, 0)
        + coalesce((p_usage ->> 'cost_output_micros')::bigint, 0)
        + coalesce((p_usage ->> 'cost_cache_write_micros')::bigint, 0)
        + coalesce((p_usage ->> 'cost_cache_read_micros')::bigint, 0)
        + coalesce((p_usage ->> 'cost_cloud_run_micros')::bigint, 0)
        + coalesce((p_usage ->> 'cost_vercel_micros')::bigint, 0)
  where id = p_job;
end
$$;

-- Finish a running job successfully: the chapter version, the chapter's current content and
-- the job's final state in one transaction. Returns false (and writes nothing) when the job is
-- not running under this worker's lease, so a second call or a reclaimed job cannot write twice.
create function public.complete_job(p_job uuid, p_worker text, p_content text, p_stop_reason text, p_usage jsonb)
returns boolean
language plpgsql as $$
declare
  v_job public.chapter_content_jobs;
  v_version integer;
begin
  select * into v_job from public.chapter_content_jobs where id = p_job for update;
  if not found or v_job.status <> 'running' or v_job.lease_owner is distinct from p_worker then
    return false;
  end if;

  update public.chapters
  set content = p_content, content_version = content_version + 1, content_updated_at = now()
  where id = v_job.chapter_id
  returning content_version into v_version;

  insert into public.chapter_versions (chapter_id, version, job_id, content, model)
  values (v_job.chapter_id, v_version, p_job, p_content, v_job.model);

  perform public.finish_attempt(p_job, p_usage, 'succeeded', 0, null, null, p_stop_reason, null);
  return true;
end
$$;

-- The wait before retry number p_attempt: none, linear or exponential from the base delay,
-- capped at the maximum, with "equal jitter" (half fixed, half random) so retries of jobs
-- that failed together do not return together.
create function public.retry_delay(p_backoff text, p_base_ms integer, p_max_ms integer, p_attempt integer)
returns interval
language sql volatile as $$
  select make_interval(secs => d / 2000.0 + random() * d / 2000.0)
  from (
    select least(
      p_max_ms::double precision,
      case p_backoff
        when 'none' then 0
        when 'linear' then p_base_ms::double precision * p_attempt
        else p_base_ms * power(2::double precision, greatest(p_attempt - 1, 0))
      end
    ) as d
  ) as delay
$$;

-- A running attempt ended in error. Records the attempt's usage and the error, then:
-- cancelled if a cancel was requested; pending again after a backoff if the error is
-- retryable and attempts remain; failed otherwise. Returns the new status, or null when the
-- job is not running under this worker's lease.
create function public.fail_job(
  p_job uuid, p_worker text, p_error_code text, p_error_message text, p_retryable boolean, p_usage jsonb
)
returns text
language plpgsql as $$
declare
  v_job public.chapter_content_jobs;
  v_status text;
begin
  select * into v_job from public.chapter_content_jobs where id = p_job for update;
  if not found or v_job.status <> 'running' or v_job.lease_owner is distinct from p_worker then
    return null;
  end if;

  v_status := case
    when v_job.cancel_requested_at is not null then 'cancelled'
    when p_retryable and v_job.attempts < v_job.max_attempts then 'pending'
    else 'failed'
  end;

  perform public.finish_attempt(
    p_job, p_usage, v_status, 0,
    case when v_status = 'cancelled' then 'cancelled' else p_error_code end,
    case when v_status = 'cancelled' then 'Cancelled while running.' else p_error_message end,
    null,
    case when v_status = 'pending'
      then now() + public.retry_delay(v_job.retry_backoff, v_job.retry_base_ms, v_job.retry_max_ms, v_job.attempts)
    end
  );
  return v_status;
end
$$;

-- Give a running job back to the queue without spending an attempt (a worker shutting
-- down, e.g. SIGTERM on Cloud Run). Returns the new status, or null when not this worker's.
create function public.release_job(p_job uuid, p_worker text, p_usage jsonb)
returns text
language plpgsql as $$
declare
  v_job public.chapter_content_jobs;
  v_status text;
begin
  select * into v_job from public.chapter_content_jobs where id = p_job for update;
  if not found or v_job.status <> 'running' or v_job.lease_owner is distinct from p_worker then
    return null;
  end if;
  v_status := case when v_job.cancel_requested_at is not null then 'cancelled' else 'pending' end;
  perform public.finish_attempt(
    p_job, p_usage, v_status,
    case when v_status = 'pending' then -1 else 0 end,
    case when v_status = 'cancelled' then 'cancelled' else v_job.error_code end,
    case when v_status = 'cancelled' then 'Cancelled while its worker shut down.' else v_job.error_message end,
    null,
    now()
  );
  return v_status;
end
$$;

-- Cancel a job: a pending job is cancelled at once; a running one is flagged, and its worker
-- (told by heartbeat and NOTIFY) aborts the stream and ends it cancelled. Returns the status
-- after the call; a finished job is left as it is.
create function public.cancel_job(p_job uuid, p_actor text)
returns text
language plpgsql as $$
declare
  v_job public.chapter_content_jobs;
begin
  select * into v_job from public.chapter_content_jobs where id = p_job for update;
  if not found then
    return null;
  end if;
  if v_job.status = 'pending' then
    update public.chapter_content_jobs
    set status = 'cancelled', cancel_requested_at = now(), error_code = 'cancelled',
        error_message = 'Cancelled by ' || p_actor || ' before it started.',
        finished_at = now(), updated_at = now()
    where id = p_job;
    return 'cancelled';
  end if;
  if v_job.status = 'running' and v_job.cancel_requested_at is null then
    update public.chapter_content_jobs
    set cancel_requested_at = now(), updated_at = now()
    where id = p_job;
    insert into public.job_events (job_id, event, from_status, to_status, attempt, detail)
    values (p_job, 'cancel_requested', 'running', 'running', v_job.attempts,
            jsonb_build_object('actor', p_actor));
    perform pg_notify('switchyard_jobs', json_build_object(
      'event', 'cancel_requested',
      'jobs', json_build_array(json_build_object('id', p_job, 'status', 'running', 'batch_id', v_job.batch_id))
    )::text);
  end if;
  return v_job.status;
end
$$;

-- Cancel every unfinished job of a batch. Returns how many were cancelled at once and how
-- many running ones were asked to stop.
create function public.cancel_batch(p_batch uuid, p_actor text)
returns table (cancelled integer, stopping integer)
language plpgsql as $$
declare
  v_cancelled integer := 0;
  v_stopping integer := 0;
  v_id uuid;
  v_status text;
begin
  update public.batches set cancel_requested_at = coalesce(cancel_requested_at, now())
  where id = p_batch;
  for v_id in
    select id from public.chapter_content_jobs
    where batch_id = p_batch and status in ('pending', 'running')
    order by id
  loop
    v_status := public.cancel_job(v_id, p_actor);
    if v_status = 'cancelled' then
      v_cancelled := v_cancelled + 1;
    elsif v_status = 'running' then
      v_stopping := v_stopping + 1;
    end if;
  end loop;
  return query select v_cancelled, v_stopping;
end
$$;

-- Put a failed or cancelled job back in the queue with a fresh retry budget.
-- Returns the new status, or the unchanged one when the job is not finished unsuccessfully.
create function public.retry_job(p_job uuid, p_actor text)
returns text
language plpgsql as $$
declare
  v_status text;
begin
  update public.chapter_content_jobs
  set status = 'pending',
      max_attempts = attempts + max_retries + 1,
      run_after = now(),
      cancel_requested_at = null,
      error_code = null,
      error_message = null,
      stop_reason = null,
      finished_at = null,
      updated_at = now()
  where id = p_job and status in ('failed', 'cancelled')
  returning status into v_status;
  if v_status is null then
    select status into v_status from public.chapter_content_jobs where id = p_job;
  else
    insert into public.job_events (job_id, event, from_status, to_status, detail)
    values (p_job, 'retry_requested', null, 'pending', jsonb_build_object('actor', p_actor));
  end if;
  return v_status;
end
$$;

-- Return jobs whose worker stopped heartbeating: to the queue while attempts remain,
-- failed when they are spent, cancelled when a cancel was requested.
create function public.reap_expired_leases()
returns table (job_id uuid, status text)
language sql as $$
  with expired as (
    select id from public.chapter_content_jobs
    where status = 'running' and lease_expires_at < now()
    for update skip locked
  )
  update public.chapter_content_jobs j
  set status = case
        when j.cancel_requested_at is not null then 'cancelled'
        when j.attempts >= j.max_attempts then 'failed'
        else 'pending'
      end,
      error_code = case when j.cancel_requested_at is not null then 'cancelled' else 'lease_expired' end,
      error_message = case when j.cancel_requested_at is not null
        then 'Cancelled; its worker stopped before confirming.'
        else 'Worker ' || j.lease_owner || ' stopped heartbeating; its lease expired.' end,
      finished_at = case
        when j.cancel_requested_at is not null or j.attempts >= j.max_attempts then now()
      end,
      run_after = now(),
      lease_owner = null,
      lease_expires_at = null,
      updated_at = now()
  from expired
  where j.id = expired.id
  returning j.id, j.status
$$;

-- Workers report themselves while they run (the Worker page reads this).
create function public.worker_heartbeat(
  p_worker text, p_host text, p_current_job uuid, p_succeeded integer, p_failed integer, p_stopped boolean
)
returns void
language sql as $$
  insert into public.worker_heartbeats as w
    (worker_id, host, current_job_id, jobs_succeeded, jobs_failed, stopped_at)
  values (p_worker, p_host, p_current_job, p_succeeded, p_failed, case when p_stopped then now() end)
  on conflict (worker_id) do update
  set last_seen_at = now(),
      current_job_id = excluded.current_job_id,
      jobs_succeeded = excluded.jobs_succeeded,
      jobs_failed = excluded.jobs_failed,
      stopped_at = excluded.stopped_at
$$;

-- Only the server's own connection may run the queue: Supabase exposes public functions
-- through its API, so take them away from the browser roles.
revoke execute on function
  public.insert_jobs(jsonb, uuid),
  public.submit_job(jsonb),
  public.submit_batch(jsonb, jsonb),
  public.claim_jobs(text, integer, integer),
  public.heartbeat_job(uuid, text, integer),
  public.record_progress(uuid, text, integer, text),
  public.finish_attempt(uuid, jsonb, text, integer, text, text, text, timestamptz),
  public.complete_job(uuid, text, text, text, jsonb),
  public.retry_delay(text, integer, integer, integer),
  public.fail_job(uuid, text, text, text, boolean, jsonb),
  public.release_job(uuid, text, jsonb),
  public.cancel_job(uuid, text),
  public.cancel_batch(uuid, text),
  public.retry_job(uuid, text),
  public.reap_expired_leases(),
  public.worker_heartbeat(text, text, uuid, integer, integer, boolean)
from public, anon, authenticated;
