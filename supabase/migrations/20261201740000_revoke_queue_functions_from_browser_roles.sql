-- The queue's functions added since the first wave, taken from the browser roles as the first
-- ones were (20261128100500_create_queue_functions.sql): Supabase exposes every public function
-- through its API, and PostgreSQL lets PUBLIC execute a new function unless told otherwise.
-- These run as their caller, so row level security already kept anon and learners from changing
-- a job through them; only the server's own connection has a reason to call them at all.
-- migrate.server.test.ts lists what the browser roles may still execute, so a new function that
-- forgets its revoke fails there.
revoke execute on function
  public.submit_jobs(jsonb),
  public.complete_jobs(jsonb),
  public.fail_jobs(jsonb),
  public.finish_attempts(uuid[], jsonb[], text[], integer[], text[], text[], text[], timestamptz[]),
  public.job_transition_detail(text, text, text, text, text, timestamptz),
  public.fleet_pressure_limit(),
  public.open_wakeup_count(),
  public.wakeup_may_continue(uuid)
from public, anon, authenticated;
