-- Each worker reports the state of its LISTEN connection with its presence, so the Worker page
-- can say plainly when a worker's notifications do not arrive (reconnecting, or a
-- transaction-mode pooler that cannot carry LISTEN) and it is polling instead.
-- Shape: {"connection": "connected" | "reconnecting" | "idle", "mode": "listen" | "polling" |
-- "checking", "since": timestamptz, "lastError": text | null, "reconnects": integer}.

alter table public.worker_heartbeats add column listener jsonb;

comment on column public.worker_heartbeats.listener is
  'The worker''s LISTEN connection as it last reported it (see app/server/db/port.server.ts ListenerState).';

-- A new overload with the listener; the six-argument one stays for workers still running the
-- previous image during a rollout.
create function public.worker_heartbeat(
  p_worker text, p_host text, p_current_job uuid, p_succeeded integer, p_failed integer, p_stopped boolean,
  p_listener jsonb
)
returns void
language sql as $$
  insert into public.worker_heartbeats as w
    (worker_id, host, current_job_id, jobs_succeeded, jobs_failed, stopped_at, listener)
  values (p_worker, p_host, p_current_job, p_succeeded, p_failed, case when p_stopped then now() end, p_listener)
  on conflict (worker_id) do update
  set last_seen_at = now(),
      current_job_id = excluded.current_job_id,
      jobs_succeeded = excluded.jobs_succeeded,
      jobs_failed = excluded.jobs_failed,
      stopped_at = excluded.stopped_at,
      listener = excluded.listener
$$;

revoke execute on function public.worker_heartbeat(text, text, uuid, integer, integer, boolean, jsonb)
  from public, anon, authenticated;
