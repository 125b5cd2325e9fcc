-- Progress writes no longer send a NOTIFY (issue 18, ADR 0021). The app's live feed reads the
-- running jobs whose progress moved from its shared cursor query every 25 ms, so the per-write
-- 'progress' notification had no reader left; it only added a commit on PostgreSQL's global
-- notify lock to every progress write of every running job (one each 250 ms per job).
-- Everything else is as in 20261130100000_create_job_attempts.sql.
create or replace function public.record_progress(
  p_job uuid, p_worker text, p_output_tokens integer, p_text text, p_usage jsonb default null
)
returns boolean
language plpgsql as $$
begin
  update public.chapter_content_jobs
  set progress_output_tokens = p_output_tokens,
      progress_text = p_text,
      first_token_at = coalesce(first_token_at, case when p_text <> '' then now() end),
      updated_at = now()
  where id = p_job and status = 'running' and lease_owner = p_worker;
  if not found then
    return false;
  end if;
  if p_usage is not null then
    perform public.set_attempt_usage(a.id, p_usage)
    from public.job_attempts a where a.job_id = p_job and a.ended_at is null;
  end if;
  return true;
end
$$;

comment on function public.record_progress(uuid, text, integer, text, jsonb) is
  'A running job''s progress (output tokens and streamed text so far) and its open attempt''s usage; only the lease owner may write it. No status event and no NOTIFY: the live feed polls running jobs.';
