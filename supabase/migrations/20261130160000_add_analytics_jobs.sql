-- Job kinds (ADR 0014, "Analytics as a job kind"). The queue now carries two kinds of job:
-- 'generation' (a chapter, as before) and 'analytics' (learning analytics for a date range, no
-- chapter). The least invasive shape: a kind column defaulting to 'generation', a payload for
-- what a kind needs beyond the generation columns, and chapter_id nullable for analytics only.
-- claim_jobs, finish_attempt, reap_expired_leases and refresh_job_rollups are unchanged: they
-- never read chapter_id, so an analytics job is claimed, leased, reaped, retried and booked in
-- the attempt ledger exactly like a generation. Only completion differs (complete_analytics_job
-- below writes a result instead of a chapter version); the worker dispatches on kind.

alter table public.chapter_content_jobs
  add column kind text not null default 'generation' check (kind in ('generation', 'analytics')),
  add column payload jsonb,
  alter column chapter_id drop not null,
  add constraint chapter_content_jobs_kind_shape check (
    (kind = 'generation' and chapter_id is not null)
    or (kind = 'analytics' and chapter_id is null and payload is not null)
  );

comment on column public.chapter_content_jobs.kind is
  'generation: writes a chapter version; analytics: computes learning analytics for payload''s date range.';
comment on column public.chapter_content_jobs.payload is
  'What a non-generation kind needs (analytics: {"from":"YYYY-MM-DD","to":"YYYY-MM-DD"}), validated by app/domain/job-kinds.ts.';

-- An analytics job names no model (model is not null and references generation_models, as every
-- attempt in the ledger and every rollup row has one): this row stands for "no model", priced at
-- $0 of tokens. Its compute (Cloud Run time) is still metered and booked to its attempts.
insert into public.generation_models (model, source) values
  ('analytics', 'no model: SQL over learner progress; only compute is charged');

create table public.learning_analytics_results (
  job_id uuid primary key references public.chapter_content_jobs (id) on delete cascade,
  range_from date not null,
  range_to date not null,
  computed_at timestamptz not null default now(),
  -- The LearningView of app/server/learning-analytics.server.ts: courses, chapters, range.
  result jsonb not null,
  check (range_from <= range_to)
);

comment on table public.learning_analytics_results is
  'The result of one analytics job: completion funnels, time to complete and generation cost per completed chapter for a date range (written by complete_analytics_job).';

create index learning_analytics_results_latest on public.learning_analytics_results (computed_at desc);

alter table public.learning_analytics_results enable row level security;
create policy "Staff can read learning analytics results" on public.learning_analytics_results
  for select to authenticated using (public.is_staff());
revoke all on public.learning_analytics_results from anon, authenticated;
grant select on public.learning_analytics_results to authenticated;

-- Queues an analytics job for a date range. The status triggers write its 'submitted' event and
-- NOTIFY, as for a generation.
create function public.submit_analytics_job(
  p_from date, p_to date, p_created_by text, p_idempotency_key text default null
)
returns table (job_id uuid, created boolean)
language plpgsql as $$
declare
  v_id uuid;
begin
  insert into public.chapter_content_jobs (kind, payload, created_by, model, max_tokens, idempotency_key)
  values ('analytics', jsonb_build_object('from', p_from, 'to', p_to), p_created_by, 'analytics', 1,
          p_idempotency_key)
  on conflict (idempotency_key) where idempotency_key is not null do nothing
  returning id into v_id;
  if v_id is not null then
    return query select v_id, true;
    return;
  end if;
  select j.id into v_id from public.chapter_content_jobs j where j.idempotency_key = p_idempotency_key;
  return query select v_id, false;
end
$$;

-- Ends an analytics attempt with its result: the result row and the attempt's usage (compute
-- only) in one transaction. False when this worker no longer holds the lease (nothing written).
create function public.complete_analytics_job(p_job uuid, p_worker text, p_result jsonb, p_usage jsonb)
returns boolean
language plpgsql as $$
declare
  v_job public.chapter_content_jobs;
begin
  select * into v_job from public.chapter_content_jobs where id = p_job for update;
  if not found or v_job.kind <> 'analytics' or v_job.status <> 'running'
     or v_job.lease_owner is distinct from p_worker then
    return false;
  end if;
  insert into public.learning_analytics_results (job_id, range_from, range_to, result)
  values (p_job, (v_job.payload ->> 'from')::date, (v_job.payload ->> 'to')::date, p_result)
  on conflict (job_id) do update set result = excluded.result, computed_at = now();
  perform public.finish_attempt(p_job, p_usage, 'succeeded', 0, null, null, 'computed', null);
  return true;
end
$$;

-- Only the server's own connection may run the queue.
revoke execute on function
  public.submit_analytics_job(date, date, text, text),
  public.complete_analytics_job(uuid, text, jsonb, jsonb)
from public, anon, authenticated;
