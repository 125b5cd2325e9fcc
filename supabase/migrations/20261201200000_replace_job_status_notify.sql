-- Job status changes no longer send a NOTIFY per row (issue 18, ADR 0021).
--
-- PostgreSQL serialises the commits of notifying transactions on one global lock, so a NOTIFY
-- per row per transition put every submit, claim and completion in one line. What listened:
--   - /live (the dashboard's SSE): now reads job_events through a cursor, one query per app
--     process every 50 ms shared by every open stream (app/server/live-feed.server.ts);
--   - idle workers waiting for new work: still woken at once, by at most ONE notification per
--     transaction (below), and only when a job became claimable now;
--   - running workers learning of a cancel: cancel_job and cancel_jobs keep their
--     cancel_requested NOTIFY (rare, and it must stop a stream within 500 ms).
--
-- The job_events row stays a row trigger limited to status changes. A statement-level trigger
-- with transition tables cannot say `update of status` (PostgreSQL refuses transition tables
-- with a column list), so it would fire on every heartbeat and progress write and copy their
-- rows, streamed text included, into its transition tables; the row trigger's WHEN clause costs
-- those writes nothing. It was also measured slower when each statement changes one row
-- (20261128100500_create_queue_functions.sql).

create or replace function public.chapter_content_jobs_status_changed() returns trigger
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
  return null;
end
$$;

comment on function public.chapter_content_jobs_status_changed() is
  'Appends the job_events row of a status transition. Sends no NOTIFY: /live reads job_events '
  'through a cursor, and idle workers are woken by chapter_content_jobs_work_available.';

-- WARNING: the payload must stay constant. PostgreSQL folds identical notifications of one
-- transaction into one, which is what keeps a 1,000-job batch (or a micro-batch of submits) at
-- one NOTIFY. Workers read it as "a job is pending": {"event": "status", "jobs": [{"status": "pending"}]}.
create function public.chapter_content_jobs_work_available() returns trigger
language plpgsql as $$
begin
  perform pg_notify('switchyard_jobs', '{"event":"status","jobs":[{"status":"pending"}]}');
  return null;
end
$$;

comment on function public.chapter_content_jobs_work_available() is
  'Wakes idle workers: one NOTIFY per transaction that made a job claimable now (inserted or '
  'returned to pending with run_after due). A retry delayed into the future wakes nobody; the '
  'workers'' idle poll finds it when it is due.';

create trigger chapter_content_jobs_work_inserted
  after insert on public.chapter_content_jobs
  for each row when (new.status = 'pending' and new.run_after <= now())
  execute function public.chapter_content_jobs_work_available();

create trigger chapter_content_jobs_work_returned
  after update of status on public.chapter_content_jobs
  for each row when (old.status is distinct from new.status and new.status = 'pending' and new.run_after <= now())
  execute function public.chapter_content_jobs_work_available();
