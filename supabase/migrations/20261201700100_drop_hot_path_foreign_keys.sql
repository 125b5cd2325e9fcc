-- Three foreign keys leave the queue's hot path (issue 18, ADR 0022).
--
-- A foreign-key check is a query per inserted row that locks the referenced row FOR KEY SHARE.
-- On the queue's path that row is one the same transaction has just updated or locked, so the
-- check costs a statement, a lock written to the WAL and a dirtied page, for nothing it could
-- find wrong:
--   - job_events.job_id -> chapter_content_jobs: two checks per job (claim, completion). Every
--     job_events row is written by the status trigger or by a queue function, in the statement
--     that inserts or changes that job's row, so the job exists and is locked by the writer
--     until it commits; the demo data inserts events for the jobs it has just inserted. What the
--     key still did was the cascade: a deleted job (demo reset, a deleted chapter, batch or
--     course) took its events with it. The statement trigger below does that now, in the same
--     statement, for cascaded deletes too (PostgreSQL runs a cascade as a DELETE that fires the
--     jobs table's triggers). A job deleted while another transaction writes its events waits
--     for that transaction's row lock, and the trigger's DELETE then sees those committed rows.
--     Readers already join job_events to the job (/live, the job page reads by an existing job).
--   - job_attempts.job_id -> chapter_content_jobs: one check per claim. The same holds as for
--     job_events: attempts are opened by claim_jobs, collect_batch_jobs (open_attempts) and
--     finish_attempts, each for jobs it holds locked, and by book_jobs_without_attempts, which
--     the demo data calls in the transaction that inserted its jobs. The trigger below deletes a
--     deleted job's attempts with its events.
--   - job_attempts.batch_id -> batches: one check per claim, and a KEY SHARE lock on the batch's
--     row taken by every claimer of that batch at once (concurrent lockers of one row share it
--     through a MultiXact). An attempt's batch_id is its job's, copied from the job row when the
--     attempt opens, and the job's own key (chapter_content_jobs.batch_id, kept) guarantees the
--     batch; a deleted batch still deletes its jobs and, through the trigger, their attempts.
--     claim_jobs' caps never relied on that lock: they lock the batch row FOR NO KEY UPDATE
--     themselves.

alter table public.job_events drop constraint job_events_job_id_fkey;
alter table public.job_attempts drop constraint job_attempts_job_id_fkey;
alter table public.job_attempts drop constraint job_attempts_batch_id_fkey;

-- SECURITY DEFINER: the cascade ran as the table owner, whoever deleted the job.
create function public.delete_history_of_deleted_jobs() returns trigger
language plpgsql security definer
set search_path = public, pg_temp
as $$
begin
  delete from public.job_events e using deleted_jobs d where e.job_id = d.id;
  delete from public.job_attempts a using deleted_jobs d where a.job_id = d.id;
  return null;
end
$$;

comment on function public.delete_history_of_deleted_jobs() is
  'Deletes the job_events and job_attempts of deleted jobs, once per statement: the on delete '
  'cascade of the foreign keys that 20261201700100 dropped from the queue''s hot path.';

create trigger chapter_content_jobs_delete_history
  after delete on public.chapter_content_jobs
  referencing old table as deleted_jobs
  for each statement execute function public.delete_history_of_deleted_jobs();
