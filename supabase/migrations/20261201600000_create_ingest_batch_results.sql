-- Set-based ingest of Message Batches results (issue 16 follow-up, ADR 0020). ingest_batch_result
-- ended one job per call (complete_job / fail_job, each a one-element complete_jobs / fail_jobs),
-- which held bench:batch at 1,347–1,582 results/s; this ends a whole chunk of result lines in one
-- complete_jobs call and one fail_jobs call. The guarantees are ingest_batch_result's, per job:
--   - a line counts only while its job is running under the lease 'batch:<p_batch>' (the first
--     ingest releases it), so a line read again after a crash changes nothing;
--   - succeeded and no cancel requested: completed (exactly one chapter version);
--   - succeeded but a cancel was requested while in the batch: discarded, its usage still booked,
--     the job cancelled with a message that says so;
--   - errored: failed, retried into a later batch when retryable and attempts remain;
--   - expired / canceled: failed with the reason (or cancelled, if a cancel was requested).
-- Locks: the jobs in id order here, then complete_jobs locks chapters in id order, so concurrent
-- chunks (disjoint jobs) queue on a shared chapter instead of deadlocking.

-- p_results: a JSON array of {"id", "type", "content", "stop_reason", "usage", "error_code",
-- "error_message", "retryable"}, one per result line. Returns how many lines were ingested (the
-- others' jobs were no longer this batch's).
create function public.ingest_batch_results(p_batch uuid, p_results jsonb)
returns integer
language plpgsql as $$
declare
  v_worker text := 'batch:' || p_batch;
  v_completions jsonb;
  v_failures jsonb;
  v_completed integer;
  v_failed integer;
  v_cancelled uuid[];
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
         count(*) filter (where f.status is not null)
  into v_cancelled, v_failed
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

  return v_completed + v_failed;
end
$$;

comment on function public.ingest_batch_results(uuid, jsonb) is
  'Ends a chunk of Message Batches result lines for one provider batch in one statement (complete_jobs / fail_jobs); returns how many were still this batch''s.';

-- The one-line form has no caller left (the dispatcher sends chunks): one implementation.
drop function public.ingest_batch_result(uuid, uuid, text, text, text, jsonb, text, text, boolean);

revoke execute on function public.ingest_batch_results(uuid, jsonb) from public, anon, authenticated;
