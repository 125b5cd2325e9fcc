-- Set-based completions (issue 18, ADR 0019): the worker's completion batcher ends any number of
-- attempts in ONE statement, as graphile-worker batches its completes. Measured by bench:queue,
-- the per-job commit (and the serialised commit of its notifying transaction) was the ceiling.
-- The guarantees are complete_job's and fail_job's, per job:
--   - a result counts only if its job is running under that worker's lease (checked per job,
--     under the row lock); the others in the same call are refused, not the whole call;
--   - a success writes exactly one chapter version (chapter_versions.job_id is unique as well);
--   - the attempt's ledger row is closed with its usage and cost, and added to the job's totals;
--   - a failure is cancelled, retried after the route's backoff, or failed, as fail_job decided.
-- complete_job and fail_job stay (the Message Batches destination calls complete_job per result)
-- and are now one-element calls of these, so there is one implementation.
--
-- Locks are taken in id order (jobs, then chapters), so batchers that complete jobs of the same
-- chapters concurrently queue instead of deadlocking.

-- Internal: ends the current attempts of jobs (the caller holds their row locks), the set-based
-- finish_attempt: each attempt's ledger row gets its final usage and outcome, and each job, in
-- ONE update, its new status and the attempt's usage added to its totals. Arrays are parallel,
-- one element per job; p_usages keys as finish_attempt documents.
create function public.finish_attempts(
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

  with f as (
    select * from unnest(
      p_jobs, p_usages, p_statuses, p_attempts_deltas, p_error_codes, p_error_messages, p_stop_reasons, p_run_afters
    ) as f (job_id, usage, status, attempts_delta, error_code, error_message, stop_reason, run_after)
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
  )
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
  where j.id = a.job_id;
end
$$;

-- finish_attempt (release_job, complete_analytics_job) is now a one-job call of finish_attempts.
create or replace function public.finish_attempt(
  p_job uuid, p_usage jsonb, p_status text, p_attempts_delta integer,
  p_error_code text, p_error_message text, p_stop_reason text, p_run_after timestamptz
)
returns void
language sql as $$
  select public.finish_attempts(
    array[p_job], array[p_usage], array[p_status], array[p_attempts_delta],
    array[p_error_code], array[p_error_message], array[p_stop_reason], array[p_run_after]
  )
$$;

-- Completes any number of running generation jobs in one statement. p_results: a JSON array of
-- {"job_id", "worker", "content", "stop_reason", "usage"} (usage keys as finish_attempt's).
-- Returns one row per distinct job id, in the order given: completed=false (and nothing written
-- for it) when that job is not running under that worker's lease, e.g. reaped and reclaimed, or
-- already completed by an earlier call. A job id given twice counts once, with its first result.
create function public.complete_jobs(p_results jsonb)
returns table (job_id uuid, completed boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  v_ids uuid[];
  v_chapters uuid[];
  v_models text[];
  v_contents text[];
  v_stop_reasons text[];
  v_usages jsonb[];
begin
  -- The lease check and the row locks in one pass, in id order; under READ COMMITTED a row
  -- changed by a concurrent commit (reaped, cancelled) is checked again in its new version.
  select coalesce(array_agg(h.id order by h.n), '{}'), array_agg(h.chapter_id order by h.n),
         array_agg(h.model order by h.n), array_agg(h.content order by h.n),
         array_agg(h.stop_reason order by h.n), array_agg(h.usage order by h.n)
  into v_ids, v_chapters, v_models, v_contents, v_stop_reasons, v_usages
  from (
    select j.id, j.chapter_id, j.model, r.content, r.stop_reason, r.usage, r.n
    from public.chapter_content_jobs j
    join (
      select distinct on ((e ->> 'job_id')::uuid)
        (e ->> 'job_id')::uuid as job_id, e ->> 'worker' as worker, e ->> 'content' as content,
        e ->> 'stop_reason' as stop_reason, coalesce(e -> 'usage', '{}'::jsonb) as usage, n
      from jsonb_array_elements(p_results) with ordinality as t (e, n)
      order by (e ->> 'job_id')::uuid, n
    ) r on r.job_id = j.id
    where j.status = 'running' and j.lease_owner = r.worker and j.kind = 'generation'
    order by j.id
    for update of j
  ) h;

  if cardinality(v_ids) > 0 then
    perform 1 from public.chapters c where c.id = any(v_chapters) order by c.id for no key update;

    -- Several jobs of one chapter in one call: the chapter's version goes up by their number in
    -- one update (a row can be updated once per statement), each job getting its own version
    -- in the order given, and the chapter keeping the last one's content.
    with done as (
      select d.*,
             row_number() over (partition by d.chapter_id order by d.n) as rank,
             count(*) over (partition by d.chapter_id) as per_chapter
      from unnest(v_ids, v_chapters, v_models, v_contents) with ordinality as d (id, chapter_id, model, content, n)
    ),
    bumped as (
      update public.chapters c
      set content = d.content, content_version = c.content_version + d.per_chapter, content_updated_at = now()
      from done d
      where c.id = d.chapter_id and d.rank = d.per_chapter
      returning c.id, c.content_version
    )
    insert into public.chapter_versions (chapter_id, version, job_id, content, model)
    select d.chapter_id, b.content_version - d.per_chapter + d.rank, d.id, d.content, d.model
    from done d join bumped b on b.id = d.chapter_id;

    perform public.finish_attempts(
      v_ids, v_usages,
      array_fill('succeeded'::text, array[cardinality(v_ids)]), array_fill(0, array[cardinality(v_ids)]),
      array_fill(null::text, array[cardinality(v_ids)]), array_fill(null::text, array[cardinality(v_ids)]),
      v_stop_reasons, array_fill(null::timestamptz, array[cardinality(v_ids)])
    );
  end if;

  return query
  select r.job_id, r.job_id = any(v_ids)
  from (
    select distinct on ((e ->> 'job_id')::uuid) (e ->> 'job_id')::uuid as job_id, n
    from jsonb_array_elements(p_results) with ordinality as t (e, n)
    order by (e ->> 'job_id')::uuid, n
  ) r
  order by r.n;
end
$$;

-- Ends any number of running attempts in error, in one statement. p_failures: a JSON array of
-- {"job_id", "worker", "error_code", "error_message", "retryable", "usage"}. Per job, as fail_job:
-- cancelled if a cancel was requested; pending again after the route's backoff if retryable and
-- attempts remain; failed otherwise. Returns one row per distinct job id, in the order given,
-- with the new status, or null when that job is not running under that worker's lease.
create function public.fail_jobs(p_failures jsonb)
returns table (job_id uuid, status text)
language plpgsql as $$
#variable_conflict use_column
declare
  v_ids uuid[];
  v_statuses text[];
  v_usages jsonb[];
  v_codes text[];
  v_messages text[];
  v_run_afters timestamptz[];
begin
  select coalesce(array_agg(h.id order by h.n), '{}'), array_agg(h.status order by h.n),
         array_agg(h.usage order by h.n),
         array_agg(case when h.status = 'cancelled' then 'cancelled' else h.error_code end order by h.n),
         array_agg(case when h.status = 'cancelled' then 'Cancelled while running.' else h.error_message end order by h.n),
         array_agg(case when h.status = 'pending'
           then now() + public.retry_delay(h.retry_backoff, h.retry_base_ms, h.retry_max_ms, h.attempts)
         end order by h.n)
  into v_ids, v_statuses, v_usages, v_codes, v_messages, v_run_afters
  from (
    select j.id, j.retry_backoff, j.retry_base_ms, j.retry_max_ms, j.attempts, r.usage, r.error_code,
           r.error_message, r.n,
           case
             when j.cancel_requested_at is not null then 'cancelled'
             when r.retryable and j.attempts < j.max_attempts then 'pending'
             else 'failed'
           end as status
    from public.chapter_content_jobs j
    join (
      select distinct on ((e ->> 'job_id')::uuid)
        (e ->> 'job_id')::uuid as job_id, e ->> 'worker' as worker, e ->> 'error_code' as error_code,
        e ->> 'error_message' as error_message, coalesce((e ->> 'retryable')::boolean, false) as retryable,
        coalesce(e -> 'usage', '{}'::jsonb) as usage, n
      from jsonb_array_elements(p_failures) with ordinality as t (e, n)
      order by (e ->> 'job_id')::uuid, n
    ) r on r.job_id = j.id
    where j.status = 'running' and j.lease_owner = r.worker
    order by j.id
    for update of j
  ) h;

  if cardinality(v_ids) > 0 then
    perform public.finish_attempts(
      v_ids, v_usages, v_statuses, array_fill(0, array[cardinality(v_ids)]), v_codes, v_messages,
      array_fill(null::text, array[cardinality(v_ids)]), v_run_afters
    );
  end if;

  return query
  select r.job_id, f.status
  from (
    select distinct on ((e ->> 'job_id')::uuid) (e ->> 'job_id')::uuid as job_id, n
    from jsonb_array_elements(p_failures) with ordinality as t (e, n)
    order by (e ->> 'job_id')::uuid, n
  ) r
  left join unnest(v_ids, v_statuses) as f (id, status) on f.id = r.job_id
  order by r.n;
end
$$;

-- The single calls, kept for their callers (the Message Batches destination, the edge path):
-- one-element calls of the set-based ones.
create or replace function public.complete_job(p_job uuid, p_worker text, p_content text, p_stop_reason text, p_usage jsonb)
returns boolean
language sql as $$
  select c.completed from public.complete_jobs(jsonb_build_array(jsonb_build_object(
    'job_id', p_job, 'worker', p_worker, 'content', p_content, 'stop_reason', p_stop_reason, 'usage', p_usage
  ))) c
$$;

create or replace function public.fail_job(
  p_job uuid, p_worker text, p_error_code text, p_error_message text, p_retryable boolean, p_usage jsonb
)
returns text
language sql as $$
  select f.status from public.fail_jobs(jsonb_build_array(jsonb_build_object(
    'job_id', p_job, 'worker', p_worker, 'error_code', p_error_code, 'error_message', p_error_message,
    'retryable', p_retryable, 'usage', p_usage
  ))) f
$$;
