-- A running job's streamed text, stored as the pieces its progress writes appended (issue 18,
-- ADR 0025).
--
-- Before: record_progress wrote the whole text streamed so far into chapter_content_jobs.progress_text
-- on every write (one each 250 ms per running job). Past 2 KB that value is compressed and
-- TOASTed, so each write stored a new copy of all of it and deleted the last one: a 16 KB chapter
-- streamed in 60 writes cost 6.3 KB of WAL per write here, 12 KB with wal_level = logical (the
-- jobs table's REPLICA IDENTITY FULL logs the old text too, for Supabase Realtime), and the cost
-- grows with the text.
--
-- Now each write appends only what is new, as one row of job_progress_chunks at the offset (in
-- characters) where it starts, and the jobs row keeps only its length (progress_length) beside
-- the output tokens. The text of a job is its chunks in offset order. A job holds the text of one
-- attempt at a time, as progress_text did: the claim that starts a new attempt and the change to
-- succeeded clear it (the trigger below); a job that fails, is cancelled, or goes back to pending
-- (a retry, the reaper, a release) keeps what was streamed, so its page shows it.

create table public.job_progress_chunks (
  job_id uuid not null,
  -- Where this piece starts in the attempt's text, in characters: the length before it.
  start_offset integer not null check (start_offset >= 0),
  text text not null check (text <> ''),
  primary key (job_id, start_offset)
);

comment on table public.job_progress_chunks is
  'The text a running (or failed, cancelled, retried) job''s current attempt has streamed so far, as the pieces its progress writes appended, in offset order; written by append_progress, cleared when a new attempt starts or the job succeeds.';

-- No foreign key to the job, as for job_events and job_attempts (20261201700100): every chunk is
-- written by append_progress in the statement after it updated that job's row, which it holds
-- locked until it commits; the statement trigger below is the cascade.
alter table public.job_progress_chunks enable row level security;
create policy "Staff can read streamed text" on public.job_progress_chunks
  for select to authenticated using (public.is_staff());
revoke all on public.job_progress_chunks from anon, authenticated;
grant select on public.job_progress_chunks to authenticated;

alter table public.chapter_content_jobs
  add column progress_length integer not null default 0 check (progress_length >= 0);

comment on column public.chapter_content_jobs.progress_length is
  'Characters of streamed text this job holds in job_progress_chunks (the current or last attempt''s); 0 when it holds none.';
comment on column public.chapter_content_jobs.progress_text is
  'Unused since 20261201750000: streamed text is in job_progress_chunks. Still set to null by the claim and completion functions that predate it.';

-- The text jobs hold now becomes their first chunk.
insert into public.job_progress_chunks (job_id, start_offset, text)
select j.id, 0, j.progress_text from public.chapter_content_jobs j where j.progress_text <> '';
update public.chapter_content_jobs
set progress_length = length(progress_text), progress_text = null
where progress_text is not null;

-- Where progress_text was set to null, the chunks go: a claim (a new attempt starts from empty
-- text) and a success (the text is in chapter_versions now). A trigger rather than a line in each
-- function: every path to running or succeeded (claim_jobs' two paths, claim_job, collect_batch_jobs,
-- finish_attempts, ingest_batch_result, demo data) is covered, and its WHEN clause costs the
-- queue's hot path nothing for a job that never streamed (bench:queue's jobs report progress
-- once, at their end, which the completion supersedes: no chunk).
-- SECURITY DEFINER, as the cascade below: under a role that row level security limits, the
-- delete would remove nothing while progress_length still went to 0, and the next attempt's
-- first append would collide with the old text.
create function public.clear_streamed_text() returns trigger
language plpgsql security definer
set search_path = public, pg_temp
as $$
begin
  delete from public.job_progress_chunks c where c.job_id = new.id;
  new.progress_length := 0;
  return new;
end
$$;

comment on function public.clear_streamed_text() is
  'Deletes a job''s streamed text when a new attempt starts or the job succeeds (trigger chapter_content_jobs_clear_streamed_text).';

create trigger chapter_content_jobs_clear_streamed_text
  before update of status on public.chapter_content_jobs
  for each row
  when (old.progress_length > 0 and new.status in ('running', 'succeeded') and new.status is distinct from old.status)
  execute function public.clear_streamed_text();

-- SECURITY DEFINER: as delete_history_of_deleted_jobs, the cascade runs as the table owner.
create function public.delete_streamed_text_of_deleted_jobs() returns trigger
language plpgsql security definer
set search_path = public, pg_temp
as $$
begin
  delete from public.job_progress_chunks c using deleted_jobs d where c.job_id = d.id;
  return null;
end
$$;

comment on function public.delete_streamed_text_of_deleted_jobs() is
  'Deletes the job_progress_chunks of deleted jobs, once per statement (the cascade job_progress_chunks has no foreign key for).';

create trigger chapter_content_jobs_delete_streamed_text
  after delete on public.chapter_content_jobs
  referencing old table as deleted_jobs
  for each statement execute function public.delete_streamed_text_of_deleted_jobs();

revoke execute on function
  public.clear_streamed_text(),
  public.delete_streamed_text_of_deleted_jobs()
from public, anon, authenticated;
