-- The edge path runs a generation inside the request that submitted it. It must own its job
-- from the start, so no worker (woken by the same commit's NOTIFY) can claim it first: this
-- claims one specific pending job, in the transaction that inserted it.
create function public.claim_job(p_job uuid, p_worker text, p_lease_seconds integer)
returns setof public.chapter_content_jobs
language sql as $$
  update public.chapter_content_jobs
  set status = 'running',
      attempts = attempts + 1,
      lease_owner = p_worker,
      lease_expires_at = now() + make_interval(secs => p_lease_seconds),
      started_at = now(),
      first_token_at = null,
      progress_output_tokens = 0,
      progress_text = null,
      updated_at = now()
  where id = p_job and status = 'pending'
  returning *
$$;

revoke execute on function public.claim_job(uuid, text, integer) from public, anon, authenticated;
