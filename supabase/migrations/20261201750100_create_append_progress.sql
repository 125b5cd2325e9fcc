-- Progress writes send and store only what is new (issue 18, ADR 0025): append_progress replaces
-- record_progress, which took and stored the whole text streamed so far on every write.
--
-- A write says where its text starts (p_offset, in characters) in the attempt's text. What the
-- database already holds is skipped, so a write that is sent again (its answer was lost, the worker
-- resends from what it knows was stored) appends nothing twice; a write that starts past the end
-- would leave a hole and is refused with SW416. As before only the lease owner of the running
-- attempt may write (p_attempt also refuses a worker still streaming an attempt that was reaped
-- and claimed again under the same worker id), and there is no status event and no NOTIFY: the
-- live feed polls running jobs (ADR 0021).

create function public.append_progress(
  p_job uuid, p_worker text, p_attempt integer, p_offset integer, p_text text, p_output_tokens integer,
  p_usage jsonb default null
)
returns boolean
language plpgsql as $$
declare
  v_length integer;
  v_end integer := p_offset + length(p_text);
begin
  -- The row lock costs no WAL record of its own here: PostgreSQL locks a row the same way before
  -- the jobs table's BEFORE UPDATE triggers run, and a second lock by the same transaction is free.
  select j.progress_length into v_length
  from public.chapter_content_jobs j
  where j.id = p_job and j.status = 'running' and j.lease_owner = p_worker and j.attempts = p_attempt
  for no key update;
  if not found then
    return false;
  end if;
  if p_offset > v_length then
    raise exception 'progress of job % would start at character % but its text has % characters',
      p_job, p_offset, v_length using errcode = 'SW416';
  end if;
  update public.chapter_content_jobs j
  set progress_length = greatest(v_end, v_length),
      progress_output_tokens = p_output_tokens,
      first_token_at = coalesce(j.first_token_at, case when v_end > 0 then now() end),
      updated_at = now()
  where j.id = p_job;
  -- What is stored already (a write sent again) is skipped; its tokens and usage, which may be
  -- newer than the last ones kept, are still recorded above and below.
  if v_end > v_length then
    insert into public.job_progress_chunks (job_id, start_offset, text)
    values (p_job, v_length, substr(p_text, v_length - p_offset + 1));
  end if;
  if p_usage is not null then
    perform public.set_attempt_usage(a.id, p_usage)
    from public.job_attempts a where a.job_id = p_job and a.ended_at is null;
  end if;
  return true;
end
$$;

comment on function public.append_progress(uuid, text, integer, integer, text, integer, jsonb) is
  'Appends to a running job''s streamed text what is new in p_text (which starts at character p_offset), and records its output tokens and its open attempt''s usage so far; only the lease owner of attempt p_attempt may write. No status event and no NOTIFY: the live feed polls running jobs.';

revoke execute on function public.append_progress(uuid, text, integer, integer, text, integer, jsonb)
from public, anon, authenticated;

-- record_progress stays for one release, for workers still running the previous code during a
-- rolling deploy: it now appends too (the whole text from offset 0, of which append_progress keeps
-- only what is new). WARNING: drop it once every worker writes through append_progress.
create or replace function public.record_progress(
  p_job uuid, p_worker text, p_output_tokens integer, p_text text, p_usage jsonb default null
)
returns boolean
language sql as $$
  select coalesce((
    select public.append_progress(p_job, p_worker, j.attempts, 0, p_text, p_output_tokens, p_usage)
    from public.chapter_content_jobs j where j.id = p_job
  ), false)
$$;

comment on function public.record_progress(uuid, text, integer, text, jsonb) is
  'Deprecated (ADR 0025): the previous release''s progress write, kept for its workers during a rolling deploy; appends through append_progress.';
