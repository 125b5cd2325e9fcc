-- Reusing an Idempotency-Key with a different request is the caller's mistake, not a replay:
-- like Stripe, the API answers 422 `idempotency_key_reused` and writes nothing. To tell the two
-- apart, each key is stored with a fingerprint of the request it was first used with (the app
-- sends a SHA-256 of the canonical body) and a second use must carry the same one.
--
-- Rows written before this migration have no fingerprint; a key of theirs still replays.

alter table public.batches add column idempotency_fingerprint text;
alter table public.chapter_content_jobs add column idempotency_fingerprint text;

comment on column public.batches.idempotency_fingerprint is
  'SHA-256 (hex) of the canonical request first sent with idempotency_key; null without a key.';
comment on column public.chapter_content_jobs.idempotency_fingerprint is
  'SHA-256 (hex) of the canonical request first sent with idempotency_key; null without a key.';

-- Submit one job. With an idempotency key already used: the same fingerprint returns that job
-- and created=false; a different one raises SQLSTATE SW422 (no row is written).
-- The fingerprint is set by an update of the row just inserted, in this same transaction, so
-- insert_jobs (shared with submit_batch) keeps its one shape.
create or replace function public.submit_job(p_job jsonb)
returns table (job_id uuid, created boolean)
language plpgsql as $$
declare
  v_id uuid;
  v_fingerprint text;
begin
  select id into v_id from public.insert_jobs(jsonb_build_array(p_job), null);
  if v_id is not null then
    if p_job ->> 'idempotency_fingerprint' is not null then
      update public.chapter_content_jobs set idempotency_fingerprint = p_job ->> 'idempotency_fingerprint'
      where id = v_id;
    end if;
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

-- Submit a batch atomically: the batch row and all its jobs, or (on any error) nothing.
-- With an idempotency key already used: the same fingerprint returns the existing batch and
-- created=false; a different one raises SQLSTATE SW422.
create or replace function public.submit_batch(p_batch jsonb, p_jobs jsonb)
returns table (batch_id uuid, created boolean)
language plpgsql as $$
declare
  v_batch uuid;
  v_fingerprint text;
begin
  insert into public.batches (name, idempotency_key, idempotency_fingerprint, job_count, created_by)
  values (
    coalesce(p_batch ->> 'name', 'Batch'),
    p_batch ->> 'idempotency_key',
    case when p_batch ->> 'idempotency_key' is not null then p_batch ->> 'idempotency_fingerprint' end,
    jsonb_array_length(p_jobs),
    coalesce(p_batch ->> 'created_by', 'system')
  )
  on conflict (idempotency_key) where idempotency_key is not null do nothing
  returning id into v_batch;

  if v_batch is null then
    select b.id, b.idempotency_fingerprint into v_batch, v_fingerprint
    from public.batches b
    where b.idempotency_key = p_batch ->> 'idempotency_key';
    if v_fingerprint <> p_batch ->> 'idempotency_fingerprint' then
      raise exception 'idempotency key % was first used with a different request', p_batch ->> 'idempotency_key'
        using errcode = 'SW422';
    end if;
    return query select v_batch, false;
    return;
  end if;

  perform public.insert_jobs(p_jobs, v_batch);
  return query select v_batch, true;
end
$$;
