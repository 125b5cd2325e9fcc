-- A batch rule may send its errored retries to the cloud instead of a later batch (issue 16:
-- "a retry goes back into a later batch, or to cloud if the rule says so"; ADR 0020). The rule's
-- retry.batchRetriesTo is copied onto the job at submit, as its retry policy is, so a published
-- config change does not reach jobs already queued.

alter table public.chapter_content_jobs add column batch_retries_to_cloud boolean not null default false;
comment on column public.chapter_content_jobs.batch_retries_to_cloud is
  'Destination batch only: a retryable errored result is retried streamed from the cloud (after the rule''s backoff) instead of in a later provider batch; from the rule''s retry.batchRetriesTo at submit.';

-- insert_jobs as before, plus batch_retries_to_cloud.
create or replace function public.insert_jobs(p_jobs jsonb, p_batch_id uuid)
returns setof public.chapter_content_jobs
language sql as $$
  insert into public.chapter_content_jobs (
    chapter_id, batch_id, destination, route_rule_id, config_version, priority, timeout_ms,
    max_retries, max_attempts, retry_backoff, retry_base_ms, retry_max_ms,
    idempotency_key, created_by, model, max_tokens, temperature, dispatched_at, rollout_id, variant,
    batch_retries_to_cloud
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
    j ->> 'variant',
    coalesce((j ->> 'batch_retries_to_cloud')::boolean, false)
  from jsonb_array_elements(p_jobs) with ordinality as t (j, n)
  order by n
  on conflict (idempotency_key) where idempotency_key is not null do nothing
  returning *
$$;

-- ingest_batch_results as before, plus: jobs whose retry is pending and whose rule says cloud
-- change destination (the hold trigger set run_after to infinity while they were batch jobs).
create or replace function public.ingest_batch_results(p_batch uuid, p_results jsonb)
returns integer
language plpgsql as $$
declare
  v_worker text := 'batch:' || p_batch;
  v_completions jsonb;
  v_failures jsonb;
  v_completed integer;
  v_failed integer;
  v_cancelled uuid[];
  v_retried uuid[];
begin
  select
    coalesce(jsonb_agg(jsonb_build_object(
      'job_id', h.id, 'worker', v_worker, 'content', h.e ->> 'content', 'stop_reason', h.e ->> 'stop_reason',
      'usage', h.e -> 'usage'
    ) order by h.id) filter (where h.completes), '[]'),
    coalesce(jsonb_agg(jsonb_build_object(
      'job_id', h.id, 'worker', v_worker, 'error_code', h.e ->> 'error_code', 'error_message', h.e ->> 'error_message',
      'retryable', h.e ->> 'type' <> 'succeeded' and coalesce((h.e ->> 'retryable')::boolean, false),
      'usage', h.e -> 'usage'
    ) order by h.id) filter (where not h.completes), '[]')
  into v_completions, v_failures
  from (
    select j.id, r.e, r.e ->> 'type' = 'succeeded' and j.cancel_requested_at is null as completes
    from public.chapter_content_jobs j
    join (
      select distinct on ((e ->> 'id')::uuid) (e ->> 'id')::uuid as id, e
      from jsonb_array_elements(p_results) with ordinality as t (e, n)
      order by (e ->> 'id')::uuid, n
    ) r on r.id = j.id
    where j.status = 'running' and j.lease_owner = v_worker
    order by j.id
    for update of j
  ) h;

  select count(*) filter (where c.completed) into v_completed from public.complete_jobs(v_completions) c;

  select coalesce(array_agg(f.job_id) filter (where f.status = 'cancelled'), '{}'),
         coalesce(array_agg(f.job_id) filter (where f.status = 'pending'), '{}'),
         count(*) filter (where f.status is not null)
  into v_cancelled, v_retried, v_failed
  from public.fail_jobs(v_failures) f;

  if cardinality(v_cancelled) > 0 then
    -- fail_jobs says "Cancelled while running."; a batch job's user needs to know more.
    update public.chapter_content_jobs j
    set error_message = case r.e ->> 'type'
      when 'succeeded' then 'Cancelled while in its provider batch; its result arrived and was discarded (the provider billed it).'
      when 'canceled' then 'Cancelled; its provider batch was cancelled before this request was processed (not billed).'
      else 'Cancelled while in its provider batch; the request ended ' || (r.e ->> 'type') || ' at the provider.'
    end
    from jsonb_array_elements(p_results) as r (e)
    where j.id = any(v_cancelled) and (r.e ->> 'id')::uuid = j.id;
  end if;

  -- The rule sends retries to the cloud (retry.batchRetriesTo): streamed by a worker after the
  -- rule's backoff, instead of held for a later batch.
  update public.chapter_content_jobs j
  set destination = 'cloud',
      run_after = now() + public.retry_delay(j.retry_backoff, j.retry_base_ms, j.retry_max_ms, j.attempts)
  where j.id = any(v_retried) and j.batch_retries_to_cloud;

  return v_completed + v_failed;
end
$$;
