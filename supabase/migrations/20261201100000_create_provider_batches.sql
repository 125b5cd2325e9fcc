-- The `batch` destination (ADR 0020): jobs sent through the Anthropic Message Batches API at
-- half price. They wait, pending, for the batch dispatcher (never for a streaming worker), are
-- submitted together as one provider batch, and are completed from its results through the same
-- complete_job / fail_job as the streaming path.

alter table public.chapter_content_jobs drop constraint chapter_content_jobs_destination_check;
alter table public.chapter_content_jobs add constraint chapter_content_jobs_destination_check
  check (destination in ('edge', 'cloud', 'batch'));

create table public.provider_batches (
  id uuid primary key default gen_random_uuid(),
  -- 'anthropic', or 'offline' when no ANTHROPIC_API_KEY is configured (generated locally, no provider).
  provider text not null default 'anthropic' check (provider in ('anthropic', 'offline')),
  -- The provider's id (msgbatch_…); null until the create call answered.
  provider_batch_id text unique,
  -- submitting: rows written, create not answered yet; in_progress / canceling / ended: as the
  -- provider says; ingested: every result read and every job ended; failed: the create was refused.
  status text not null default 'submitting'
    check (status in ('submitting', 'in_progress', 'canceling', 'ended', 'ingested', 'failed')),
  request_count integer not null check (request_count >= 0),
  request_bytes bigint not null default 0,
  -- The provider's request_counts at the latest poll.
  processing integer not null default 0,
  succeeded integer not null default 0,
  errored integer not null default 0,
  canceled integer not null default 0,
  expired integer not null default 0,
  -- What the same usage would have cost streamed, minus what it cost here (set once ingested).
  saving_micros bigint not null default 0,
  created_at timestamptz not null default now(),
  submitted_at timestamptz,
  expires_at timestamptz,
  ended_at timestamptz,
  ingested_at timestamptz,
  cancel_requested_at timestamptz,
  polls integer not null default 0,
  next_poll_at timestamptz not null default now(),
  last_error text
);

comment on table public.provider_batches is
  'One submission to the Anthropic Message Batches API (or its offline fallback): its provider id, processing status, request counts and the saving against streaming prices.';
comment on column public.provider_batches.saving_micros is
  'Streaming price of the ingested results minus their batch price, in micro-dollars (set when ingested).';
comment on column public.provider_batches.next_poll_at is
  'When the dispatcher polls the provider again (backoff grows with polls).';

create index provider_batches_open on public.provider_batches (next_poll_at) where status in ('in_progress', 'canceling', 'ended');
create index provider_batches_created_at on public.provider_batches (created_at desc, id desc);

alter table public.chapter_content_jobs add column provider_batch_id uuid references public.provider_batches (id);
comment on column public.chapter_content_jobs.provider_batch_id is
  'The provider batch this job''s latest attempt went into (destination batch only).';
create index chapter_content_jobs_provider_batch on public.chapter_content_jobs (provider_batch_id)
  where provider_batch_id is not null;
-- The dispatcher's collection: pending batch jobs in claim order.
create index chapter_content_jobs_batch_pending
  on public.chapter_content_jobs (public.priority_rank(priority), created_at, id)
  where status = 'pending' and destination = 'batch';

alter table public.provider_batches enable row level security;
create policy "Staff can read provider batches" on public.provider_batches
  for select to authenticated using (public.is_staff());
revoke all on public.provider_batches from anon, authenticated;
grant select on public.provider_batches to authenticated;

-- WARNING: claim_jobs takes any pending job whose run_after has passed. A pending batch job keeps
-- run_after at 'infinity', whoever made it pending (submit, a retry, fail_job's backoff, a
-- release), so only the dispatcher's collect_batch_jobs ever takes it.
create function public.hold_batch_jobs_for_dispatcher() returns trigger
language plpgsql as $$
begin
  if new.destination = 'batch' and new.status = 'pending' then
    new.run_after := 'infinity';
  end if;
  return new;
end
$$;

create trigger chapter_content_jobs_hold_batch_jobs
  before insert or update of status, run_after, destination on public.chapter_content_jobs
  for each row when (new.destination = 'batch' and new.status = 'pending')
  execute function public.hold_batch_jobs_for_dispatcher();

-- Collects pending batch jobs into a new provider batch: when at least p_limit are waiting or
-- the oldest has waited p_linger_seconds. Each job becomes running under the lease
-- 'batch:<provider batch id>' (any dispatcher can complete it after a restart) for p_lease_seconds
-- (the provider's 24 h and a margin: the reaper takes back only what the provider lost), and its
-- attempt is opened in the ledger with destination batch. Returns the provider batch id, or null.
create function public.collect_batch_jobs(p_limit integer, p_linger_seconds integer, p_lease_seconds integer)
returns uuid
language plpgsql as $$
declare
  v_batch uuid := gen_random_uuid();
  v_ready boolean;
  v_claimed uuid[];
begin
  select count(*) >= p_limit or min(created_at) <= now() - make_interval(secs => p_linger_seconds)
  into v_ready
  from (
    select created_at from public.chapter_content_jobs
    where status = 'pending' and destination = 'batch'
    order by public.priority_rank(priority), created_at, id
    limit p_limit
  ) waiting;
  if not coalesce(v_ready, false) then
    return null;
  end if;
  insert into public.provider_batches (id, request_count) values (v_batch, 0);
  with next as (
    select id from public.chapter_content_jobs
    where status = 'pending' and destination = 'batch'
    order by public.priority_rank(priority), created_at, id
    limit p_limit
    for update skip locked
  ), claimed as (
    update public.chapter_content_jobs j
    set status = 'running',
        attempts = j.attempts + 1,
        lease_owner = 'batch:' || v_batch,
        lease_expires_at = now() + make_interval(secs => p_lease_seconds),
        started_at = now(),
        first_token_at = null,
        progress_output_tokens = 0,
        progress_text = null,
        provider_batch_id = v_batch,
        updated_at = now()
    from next
    where j.id = next.id
    returning j.id
  )
  select coalesce(array_agg(id), '{}') into v_claimed from claimed;
  if cardinality(v_claimed) = 0 then
    delete from public.provider_batches where id = v_batch;
    return null;
  end if;
  perform public.open_attempts(v_claimed, 'batch:' || v_batch);
  update public.provider_batches set request_count = cardinality(v_claimed) where id = v_batch;
  return v_batch;
end
$$;

-- The provider accepted the batch: its id, size and expiry, and when to look at it first.
create function public.record_provider_batch(
  p_batch uuid, p_provider_batch_id text, p_request_bytes bigint, p_expires_at timestamptz, p_first_poll_seconds integer
) returns void
language sql as $$
  update public.provider_batches
  set provider_batch_id = p_provider_batch_id, status = 'in_progress', request_bytes = p_request_bytes,
      processing = request_count, submitted_at = now(), expires_at = p_expires_at,
      next_poll_at = now() + make_interval(secs => p_first_poll_seconds)
  where id = p_batch
$$;

-- A poll's answer: status and counts, and the next poll after a backoff that grows with the polls.
create function public.record_provider_batch_poll(
  p_batch uuid, p_status text, p_counts jsonb, p_ended_at timestamptz, p_next_poll_seconds integer
) returns void
language sql as $$
  update public.provider_batches
  set status = case when status = 'ingested' then status else p_status end,
      processing = coalesce((p_counts ->> 'processing')::integer, processing),
      succeeded = coalesce((p_counts ->> 'succeeded')::integer, succeeded),
      errored = coalesce((p_counts ->> 'errored')::integer, errored),
      canceled = coalesce((p_counts ->> 'canceled')::integer, canceled),
      expired = coalesce((p_counts ->> 'expired')::integer, expired),
      ended_at = coalesce(p_ended_at, ended_at),
      polls = polls + 1,
      next_poll_at = now() + make_interval(secs => p_next_poll_seconds),
      last_error = null
  where id = p_batch
$$;

-- One result line, through the streaming path's own functions: a succeeded result completes the
-- job (complete_job: one chapter version, false when already done), unless a cancel was asked
-- while it was in the batch (then the result is discarded but its usage still booked); anything
-- else fails the attempt (fail_job: retry into a later batch when retryable and attempts remain).
-- Idempotent per job and attempt: the lease 'batch:<id>' is released by the first call, so a
-- result read again after a crash changes nothing. Returns the job's status after the call, or
-- null when it was no longer this batch's.
create function public.ingest_batch_result(
  p_job uuid, p_batch uuid, p_type text, p_content text, p_stop_reason text, p_usage jsonb,
  p_error_code text, p_error_message text, p_retryable boolean
) returns text
language plpgsql as $$
declare
  v_worker text := 'batch:' || p_batch;
  v_cancel timestamptz;
  v_status text;
begin
  select cancel_requested_at into v_cancel from public.chapter_content_jobs
  where id = p_job and status = 'running' and lease_owner = v_worker;
  if not found then
    return null;
  end if;
  if p_type = 'succeeded' and v_cancel is null then
    if public.complete_job(p_job, v_worker, p_content, p_stop_reason, p_usage) then
      return 'succeeded';
    end if;
    return null;
  end if;
  v_status := public.fail_job(p_job, v_worker, p_error_code, p_error_message, p_type <> 'succeeded' and p_retryable,
                              p_usage);
  if v_status = 'cancelled' then
    -- fail_job says "Cancelled while running."; a batch job's user needs to know more.
    update public.chapter_content_jobs
    set error_message = case p_type
      when 'succeeded' then 'Cancelled while in its provider batch; its result arrived and was discarded (the provider billed it).'
      when 'canceled' then 'Cancelled; its provider batch was cancelled before this request was processed (not billed).'
      else 'Cancelled while in its provider batch; the request ended ' || p_type || ' at the provider.'
    end
    where id = p_job;
  end if;
  return v_status;
end
$$;

-- After the last result line: jobs of the batch still running had no result (the provider
-- returns one per request; this is a safety net) and fail retryably; the batch is ingested, and
-- its saving is what its attempts' tokens would have cost streamed (their cost divided by the
-- batch factor) less what they cost. Read from the ledger once here, not added per result, so
-- concurrent ingest statements never queue on the provider batch's row.
create function public.finish_provider_batch(p_batch uuid, p_batch_factor numeric) returns integer
language plpgsql as $$
declare
  v_missing integer;
  v_tokens_micros bigint;
begin
  select count(*) into v_missing from (
    select public.fail_job(j.id, j.lease_owner, 'missing_result',
      'The provider batch ended without a result for this request.', true, null)
    from public.chapter_content_jobs j
    where j.provider_batch_id = p_batch and j.status = 'running' and j.lease_owner = 'batch:' || p_batch
  ) missing;
  select coalesce(sum(a.cost_input_micros + a.cost_output_micros + a.cost_cache_write_micros + a.cost_cache_read_micros), 0)
  into v_tokens_micros
  from public.chapter_content_jobs j
  join public.job_attempts a on a.job_id = j.id and a.worker = 'batch:' || p_batch
  where j.provider_batch_id = p_batch;
  update public.provider_batches
  set status = 'ingested', ingested_at = coalesce(ingested_at, now()), last_error = null,
      saving_micros = case when p_batch_factor > 0
        then round(v_tokens_micros / p_batch_factor - v_tokens_micros)::bigint else 0 end
  where id = p_batch;
  return v_missing;
end
$$;

-- The create call was refused or never answered: the batch is marked failed with the reason.
-- Its jobs are then released (5xx: they go into a later batch) or failed (4xx) by the caller.
create function public.fail_provider_batch(p_batch uuid, p_error text) returns void
language sql as $$
  update public.provider_batches set status = 'failed', last_error = p_error, ended_at = now() where id = p_batch
$$;

revoke execute on function
  public.hold_batch_jobs_for_dispatcher(),
  public.collect_batch_jobs(integer, integer, integer),
  public.record_provider_batch(uuid, text, bigint, timestamptz, integer),
  public.record_provider_batch_poll(uuid, text, jsonb, timestamptz, integer),
  public.ingest_batch_result(uuid, uuid, text, text, text, jsonb, text, text, boolean),
  public.finish_provider_batch(uuid, numeric),
  public.fail_provider_batch(uuid, text)
from public, anon, authenticated;
