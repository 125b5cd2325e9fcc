-- Reaped attempts back off, and a job that keeps killing its workers is failed.
--
-- Before: reap_expired_leases put a job whose worker stopped heartbeating straight back at the
-- head of the queue (run_after = now()). A job that crashes its worker (out of memory on one
-- chapter, say) was then claimed at once by the next worker, crashed it too, and used up its
-- attempts in seconds; with more attempts it would take down worker after worker.
--
-- Now: a reaped attempt waits like a failed one, by the job's own retry policy (retry_delay
-- with retry_backoff, retry_base_ms, retry_max_ms, as fail_job does), and a job reaped
-- max_consecutive_reaps() times in a row is failed with error_code 'worker_crashed'. "In a
-- row" = with no attempt in between that ended by itself (completed, failed or released):
-- finish_attempt resets the count. Each reap is a status change, so job_events keeps the
-- whole history (running → pending 'lease_expired', …, running → failed 'worker_crashed').

alter table public.chapter_content_jobs
  add column consecutive_reaps integer not null default 0 check (consecutive_reaps >= 0);

comment on column public.chapter_content_jobs.consecutive_reaps is
  'Attempts in a row whose lease expired (worker killed or hung); reset when an attempt ends by itself.';

-- The limit, in one place (see the comment at the top of this file).
create function public.max_consecutive_reaps() returns integer
language sql immutable as $$ select 3 $$;

create or replace function public.finish_attempt(
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
      consecutive_reaps = 0,
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


create or replace function public.reap_expired_leases()
returns table (job_id uuid, status text)
language sql as $$
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
  )
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
  returning j.id, j.status
$$;

revoke execute on function public.max_consecutive_reaps() from public, anon, authenticated;
