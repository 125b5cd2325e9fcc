-- Who has the Routing page open, on which version, and whether they have unsaved changes: one
-- row per open page (tab), renewed by a heartbeat every 10 s, so a conflict is seen before it
-- happens. Rows older than a few minutes are deleted by the next heartbeat.

create table public.routing_presence (
  tab_id uuid primary key,
  staff_id uuid not null references public.staff (id) on delete cascade,
  base_version integer not null,
  dirty boolean not null default false,
  seen_at timestamptz not null default now()
);

comment on table public.routing_presence is
  'Heartbeats of open Routing pages: who is looking at which version, with unsaved changes or not.';

create index routing_presence_seen_at on public.routing_presence (seen_at desc);

alter table public.routing_presence enable row level security;

create policy "Staff can read who has the Routing page open" on public.routing_presence
  for select to authenticated using (public.is_staff());

revoke all on public.routing_presence from anon, authenticated;
grant select on public.routing_presence to authenticated;
