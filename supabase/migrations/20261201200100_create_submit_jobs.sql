-- Many single-job submits in one transaction, each succeeding or failing on its own (issue 18,
-- ADR 0021). The app's submit batcher gathers the submits that arrive within 2 ms in one process
-- and sends them here: one round trip and one commit (one WAL flush, at most one NOTIFY) for all
-- of them, instead of one each.
--
-- Each job runs submit_job inside its own exception block (a subtransaction), so a job that
-- fails (an idempotency key reused with another request, a chapter deleted since it was looked
-- up, a constraint) is rolled back alone and reported in its row; the others commit.
-- WARNING: keep a call to at most 64 jobs. Past 64 subtransactions in one transaction PostgreSQL
-- overflows its per-backend subtransaction cache, and every other backend's snapshot checks then
-- go through pg_subtrans until it ends. The app sends at most 32 (SUBMIT_BATCH_MAX).
--
-- Returns one row per job, in order: ordinal (1-based), job_id and created as submit_job returns
-- them, or error_code (SQLSTATE) and error_message when that job failed.
create function public.submit_jobs(p_jobs jsonb)
returns table (ordinal integer, job_id uuid, created boolean, error_code text, error_message text)
language plpgsql as $$
declare
  v_job jsonb;
  v_ordinal bigint;
begin
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
  'submit_job for each element of p_jobs in one transaction; a failing job rolls back alone and '
  'returns its SQLSTATE and message. At most 64 jobs per call (subtransaction cache).';
