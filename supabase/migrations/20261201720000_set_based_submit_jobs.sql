-- Micro-batched submits written by one statement (issue 18, ADR 0024). submit_jobs ran
-- submit_job once per job, each in its own subtransaction; measured on the benchmark server, a
-- call of 32 jobs took 53–112 ms where insert_jobs of the same 32 took 6–11 ms: per job, a
-- subtransaction, a PL/pgSQL call, a re-planned SQL function (insert_jobs is not inlined, so its
-- plan is not kept between calls) and a second row version for the idempotency fingerprint.
--
-- Now submit_jobs first inserts every job with one insert_jobs call inside one exception block
-- and answers each job from what was inserted; only when that statement fails (a chapter deleted
-- since it was looked up, a constraint) does it run the old per-job path, so that the failing
-- job fails alone, as before. The answers are the same as submit_job's, job by job.

-- insert_jobs as before, plus: the job's id when the caller chose it (so submit_jobs can tell
-- which of its jobs were inserted), and its idempotency fingerprint (submit_job set it with a
-- second update of the row).
create or replace function public.insert_jobs(p_jobs jsonb, p_batch_id uuid)
returns setof public.chapter_content_jobs
language sql as $$
  insert into public.chapter_content_jobs (
    id, chapter_id, batch_id, destination, route_rule_id, config_version, priority, timeout_ms,
    max_retries, max_attempts, retry_backoff, retry_base_ms, retry_max_ms,
    idempotency_key, idempotency_fingerprint, created_by, model, max_tokens, temperature, dispatched_at,
    rollout_id, variant, batch_retries_to_cloud
  )
  select
    coalesce((j ->> 'id')::uuid, gen_random_uuid()),
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
    case when j ->> 'idempotency_key' is not null then j ->> 'idempotency_fingerprint' end,
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

comment on function public.insert_jobs(jsonb, uuid) is
  'Inserts the jobs of p_jobs (in order) into p_batch_id or none; a job may name its id. A job whose '
  'idempotency key is already used is skipped (not returned).';

-- submit_job as before, without the update: insert_jobs now stores the fingerprint.
create or replace function public.submit_job(p_job jsonb)
returns table (job_id uuid, created boolean)
language plpgsql as $$
declare
  v_id uuid;
  v_fingerprint text;
begin
  select id into v_id from public.insert_jobs(jsonb_build_array(p_job), null);
  if v_id is not null then
    return query select v_id, true;
    return;
  end if;

  select j.id, j.idempotency_fingerprint into v_id, v_fingerprint
  from public.chapter_content_jobs j
  where j.idempotency_key = p_job ->> 'idempotency_key';
  if v_fingerprint <> p_job ->> 'idempotency_fingerprint' then
    raise exception 'idempotency key % was first used with a different request', p_job ->> 'idempotency_key'
      using errcode = 'SW422';
  end if;
  return query select v_id, false;
end
$$;

-- WARNING: keep a call to at most 64 jobs: the per-job path below gives each job a
-- subtransaction (see 20261201200100_create_submit_jobs.sql). The app sends at most 32.
create or replace function public.submit_jobs(p_jobs jsonb)
returns table (ordinal integer, job_id uuid, created boolean, error_code text, error_message text)
language plpgsql as $$
declare
  v_jobs jsonb;
  v_inserted uuid[];
  v_job jsonb;
  v_ordinal bigint;
begin
  -- Every job with an id chosen here, so that the ones inserted can be told from the ones whose
  -- idempotency key was already used.
  select jsonb_agg(e.value || jsonb_build_object('id', gen_random_uuid()) order by e.ordinality)
  into v_jobs
  from jsonb_array_elements(p_jobs) with ordinality e;

  begin
    select coalesce(array_agg(i.id), '{}') into v_inserted from public.insert_jobs(v_jobs, null) i;
  exception when others then
    v_inserted := null;
  end;

  if v_inserted is not null then
    -- A job not inserted met its idempotency key (used before, or earlier in this call): its
    -- earlier job is answered, unless the fingerprints differ (SW422), as submit_job does.
    return query
    select
      e.ordinality::integer,
      case when mine.inserted then (e.value ->> 'id')::uuid when not mine.mismatch then earlier.id end,
      case when mine.inserted then true when not mine.mismatch then false end,
      case when mine.mismatch then 'SW422' end,
      case when mine.mismatch then
        format('idempotency key %s was first used with a different request', e.value ->> 'idempotency_key')
      end
    from jsonb_array_elements(v_jobs) with ordinality e
    left join public.chapter_content_jobs earlier
      on not ((e.value ->> 'id')::uuid = any(v_inserted)) and earlier.idempotency_key = e.value ->> 'idempotency_key'
    cross join lateral (
      select
        (e.value ->> 'id')::uuid = any(v_inserted) as inserted,
        coalesce(earlier.idempotency_fingerprint <> e.value ->> 'idempotency_fingerprint', false)
          and not ((e.value ->> 'id')::uuid = any(v_inserted)) as mismatch
    ) mine
    order by e.ordinality;
    return;
  end if;

  -- The statement failed: each job alone, so that only the failing one fails.
  for v_job, v_ordinal in select e.value, e.ordinality from jsonb_array_elements(p_jobs) with ordinality e loop
    ordinal := v_ordinal;
    job_id := null;
    created := null;
    error_code := null;
    error_message := null;
    begin
      select s.job_id, s.created into job_id, created from public.submit_job(v_job) s;
    exception when others then
      get stacked diagnostics error_code = returned_sqlstate, error_message = message_text;
    end;
    return next;
  end loop;
end
$$;

comment on function public.submit_jobs(jsonb) is
  'submit_job for each element of p_jobs in one transaction: one insert for all of them, or, when '
  'that fails, each in its own subtransaction so that a failing job rolls back alone and returns '
  'its SQLSTATE and message. At most 64 jobs per call (subtransaction cache).';
