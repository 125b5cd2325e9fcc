-- submit_jobs answers a burst of new submits without looking at the jobs table (issue 18).
-- After the one insert it answered every job through a left join to chapter_content_jobs on the
-- idempotency key, there to find the earlier job of a key used before. PL/pgSQL keeps that
-- statement's plan per connection; planned while the table was small (a new deployment, the
-- benchmark's fresh database), the kept plan was a hash join over a sequential scan of the
-- whole table, run once per burst as the table grew: bench:submit read 17.9 million rows of a
-- 24,000-job table in 1,538 scans in one run, the database's main cost per submit.
--
-- Now, when every job was inserted (no key was used before: the usual burst), the answer is
-- built from the jobs sent alone. Only when a job met an earlier one's key does the join run,
-- and then through EXECUTE, planned on each call for the table as it is then, so a replayed key
-- is looked up by its index in a table of any size.
-- Everything else is as in 20261201720000_set_based_submit_jobs.sql.

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

  if cardinality(v_inserted) = jsonb_array_length(v_jobs) then
    -- Every job was inserted (a burst of new submits): no earlier job to look up.
    return query
    select e.ordinality::integer, (e.value ->> 'id')::uuid, true, null::text, null::text
    from jsonb_array_elements(v_jobs) with ordinality e
    order by e.ordinality;
    return;
  end if;

  if v_inserted is not null then
    -- A job not inserted met its idempotency key (used before, or earlier in this call): its
    -- earlier job is answered, unless the fingerprints differ (SW422), as submit_job does.
    -- Planned on each call (EXECUTE), so the key lookup is planned for the table as it is now and
    -- not kept from a call when it was small (see above).
    return query execute $answer$
      select
        e.ordinality::integer,
        case when mine.inserted then (e.value ->> 'id')::uuid when not mine.mismatch then earlier.id end,
        case when mine.inserted then true when not mine.mismatch then false end,
        case when mine.mismatch then 'SW422' end,
        case when mine.mismatch then
          format('idempotency key %s was first used with a different request', e.value ->> 'idempotency_key')
        end
      from jsonb_array_elements($1) with ordinality e
      left join public.chapter_content_jobs earlier
        on not ((e.value ->> 'id')::uuid = any($2)) and earlier.idempotency_key = e.value ->> 'idempotency_key'
      cross join lateral (
        select
          (e.value ->> 'id')::uuid = any($2) as inserted,
          coalesce(earlier.idempotency_fingerprint <> e.value ->> 'idempotency_fingerprint', false)
            and not ((e.value ->> 'id')::uuid = any($2)) as mismatch
      ) mine
      order by e.ordinality
    $answer$ using v_jobs, v_inserted;
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
