-- Many learners' progress updates in one transaction, each with its own outcome (issue 14, ADR
-- 0014's third amendment). The local database adapter's progress batcher gathers the updates
-- that arrive together in one process and sends them here: one round trip and one commit (one
-- WAL flush) for all of them, instead of one each. Production's learners reach
-- record_learner_progress through PostgREST with their own JWT and do not use this function.
--
-- Each update is record_learner_progress itself, unchanged, inside its own exception block (a
-- subtransaction): idempotent replay by client_event_id, "never backwards", unknown chapter or
-- version and staff accounts answer exactly as a single call does, and an update that raises
-- (a chapter deleted meanwhile, a deadlock) is rolled back alone and reported in its row; the
-- others commit.
-- Updates run in (learner, chapter, arrival) order, so two concurrent calls lock the progress
-- rows they share in the same order and do not deadlock on them; two updates of one learner's
-- chapter keep their arrival order (a replay inside one call finds the first one's event row).
-- WARNING: keep a call to at most 64 updates. Past 64 subtransactions in one transaction
-- PostgreSQL overflows its per-backend subtransaction cache, and every other backend's snapshot
-- checks then go through pg_subtrans until it ends. The app sends at most 32
-- (PROGRESS_BATCH_MAX).
--
-- Returns one row per update, in no particular order: ordinal (1-based position in p_updates),
-- the columns of record_learner_progress, or error_code (SQLSTATE) and error_message when that
-- update raised.
create function public.record_learner_progress_many(p_updates jsonb)
returns table (
  ordinal integer,
  outcome text,
  chapter_id uuid,
  chapter_version integer,
  percent numeric,
  completed_at timestamptz,
  time_spent_seconds integer,
  updated_at timestamptz,
  error_code text,
  error_message text
)
language plpgsql security invoker
set search_path = public, pg_temp
as $$
declare
  v_update jsonb;
  v_ordinal bigint;
begin
  for v_update, v_ordinal in
    select e.value, e.ordinality from jsonb_array_elements(p_updates) with ordinality e
    order by (e.value ->> 'learner_id')::uuid, (e.value ->> 'chapter_id')::uuid, e.ordinality
  loop
    ordinal := v_ordinal;
    outcome := null;
    chapter_id := null;
    chapter_version := null;
    percent := null;
    completed_at := null;
    time_spent_seconds := null;
    updated_at := null;
    error_code := null;
    error_message := null;
    begin
      select r.outcome, r.chapter_id, r.chapter_version, r.percent, r.completed_at, r.time_spent_seconds, r.updated_at
      into outcome, chapter_id, chapter_version, percent, completed_at, time_spent_seconds, updated_at
      from public.record_learner_progress(
        (v_update ->> 'learner_id')::uuid,
        (v_update ->> 'chapter_id')::uuid,
        v_update ->> 'client_event_id',
        (v_update ->> 'chapter_version')::integer,
        (v_update ->> 'percent')::numeric,
        (v_update ->> 'time_spent_seconds')::integer,
        (v_update ->> 'reset')::boolean
      ) r;
    exception when others then
      get stacked diagnostics error_code = returned_sqlstate, error_message = message_text;
    end;
    return next;
  end loop;
end
$$;

comment on function public.record_learner_progress_many(jsonb) is
  'record_learner_progress for each element of p_updates in one transaction, in (learner, chapter) '
  'order; an update that raises rolls back alone and returns its SQLSTATE and message. At most 64 '
  'updates per call (subtransaction cache). Server only: learners call record_learner_progress.';

-- Server only: it takes any learner's id. (record_learner_progress still refuses another
-- learner's id when a JWT is set, but a learner has no reason to call this.)
revoke all on function public.record_learner_progress_many(jsonb) from public, anon, authenticated;
