-- Learners are the platform's end users: Supabase Auth users without a staff row. Their
-- profile and reading progress live here, guarded by RLS so that a learner's own Supabase
-- client (supabase-js with the learner's JWT) reaches only the learner's own rows, as the
-- server does on their behalf.

create table public.learner_profiles (
  learner_id uuid primary key,
  display_name text not null default '',
  locale text not null default 'en',
  -- The seed's "user prefs": reading pace, theme, font scale (checked by the API's schema).
  preferences jsonb not null default '{}'::jsonb,
  is_demo boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.learner_profiles is
  'One row per learner (Supabase Auth user id): display name, locale and preferences. Created on the first PATCH.';

create table public.learner_progress (
  learner_id uuid not null,
  chapter_id uuid not null references public.chapters (id) on delete cascade,
  -- The chapter version the learner last read (chapters.content_version at the time).
  chapter_version integer not null default 0,
  percent numeric(5, 2) not null default 0 check (percent between 0 and 100),
  started_at timestamptz not null default now(),
  completed_at timestamptz,
  time_spent_seconds integer not null default 0 check (time_spent_seconds >= 0),
  is_demo boolean not null default false,
  updated_at timestamptz not null default now(),
  primary key (learner_id, chapter_id)
);

comment on table public.learner_progress is
  'How far each learner has read each chapter. Percent only grows unless an update says reset; completed_at is the first time it reached 100.';

-- Analytics scans completions by time; the funnel by chapter.
create index learner_progress_completed_at on public.learner_progress (completed_at) where completed_at is not null;
create index learner_progress_chapter on public.learner_progress (chapter_id);

create table public.learner_progress_events (
  learner_id uuid not null,
  client_event_id text not null check (length(client_event_id) between 1 and 100),
  chapter_id uuid not null references public.chapters (id) on delete cascade,
  percent numeric(5, 2) not null,
  time_spent_seconds integer not null,
  reset boolean not null default false,
  applied_at timestamptz not null default now(),
  primary key (learner_id, client_event_id)
);

comment on table public.learner_progress_events is
  'Each progress update a learner''s client sent, keyed by its client_event_id: a replay finds its row and changes nothing.';

alter table public.learner_profiles enable row level security;
alter table public.learner_progress enable row level security;
alter table public.learner_progress_events enable row level security;

create policy "Learners can read their own profile" on public.learner_profiles
  for select to authenticated using (learner_id = auth.uid());
create policy "Learners can create their own profile" on public.learner_profiles
  for insert to authenticated with check (learner_id = auth.uid());
create policy "Learners can change their own profile" on public.learner_profiles
  for update to authenticated using (learner_id = auth.uid()) with check (learner_id = auth.uid());
create policy "Learners can read their own progress" on public.learner_progress
  for select to authenticated using (learner_id = auth.uid());
create policy "Learners can read their own progress events" on public.learner_progress_events
  for select to authenticated using (learner_id = auth.uid());
create policy "Staff can read learner progress" on public.learner_progress
  for select to authenticated using (public.is_staff());

revoke all on public.learner_profiles, public.learner_progress, public.learner_progress_events from anon, authenticated;
grant select, insert, update (display_name, locale, preferences, updated_at) on public.learner_profiles to authenticated;
grant select on public.learner_progress, public.learner_progress_events to authenticated;

/**
 * One progress update, idempotent by (learner, client_event_id), in one transaction.
 * Outcomes: applied, replayed (the same event again: nothing changes), event_reused (the same
 * id with different figures: nothing changes), unknown_chapter, unknown_version (a chapter version
 * newer than the chapter's), staff_account.
 * Security definer so that a learner's JWT can call it through PostgREST without write grants on
 * the progress table; it only ever writes the caller's own rows (auth.uid(), when a JWT is set).
 */
create function public.record_learner_progress(
  p_learner_id uuid,
  p_chapter_id uuid,
  p_client_event_id text,
  p_chapter_version integer,
  p_percent numeric,
  p_time_spent_seconds integer,
  p_reset boolean
) returns table (
  outcome text,
  chapter_id uuid,
  chapter_version integer,
  percent numeric,
  completed_at timestamptz,
  time_spent_seconds integer,
  updated_at timestamptz
)
language plpgsql security definer
set search_path = public, pg_temp
as $$
declare
  v_event public.learner_progress_events%rowtype;
  v_outcome text := 'applied';
  v_current_version integer;
begin
  if auth.uid() is not null and auth.uid() <> p_learner_id then
    raise exception 'a learner can record only their own progress' using errcode = '42501';
  end if;
  -- Staff accounts are not learners: their progress would skew every learning figure.
  if exists (select 1 from public.staff s where s.auth_user_id = p_learner_id and s.disabled_at is null) then
    return query select 'staff_account'::text, p_chapter_id, null::integer, null::numeric,
      null::timestamptz, null::integer, null::timestamptz;
    return;
  end if;
  select c.content_version into v_current_version from public.chapters c where c.id = p_chapter_id;
  if not found then
    return query select 'unknown_chapter'::text, p_chapter_id, null::integer, null::numeric,
      null::timestamptz, null::integer, null::timestamptz;
    return;
  end if;
  -- A client cannot have read a version that was never written.
  if p_chapter_version > v_current_version then
    return query select 'unknown_version'::text, p_chapter_id, v_current_version, null::numeric,
      null::timestamptz, null::integer, null::timestamptz;
    return;
  end if;
  insert into public.learner_progress_events as e
    (learner_id, client_event_id, chapter_id, percent, time_spent_seconds, reset)
  values (p_learner_id, p_client_event_id, p_chapter_id, p_percent, p_time_spent_seconds, p_reset)
  on conflict (learner_id, client_event_id) do nothing
  returning e.* into v_event;
  if v_event.learner_id is null then
    select e.* into v_event from public.learner_progress_events e
    where e.learner_id = p_learner_id and e.client_event_id = p_client_event_id;
    v_outcome := case
      when v_event.chapter_id = p_chapter_id and v_event.percent = p_percent
        and v_event.time_spent_seconds = p_time_spent_seconds and v_event.reset = p_reset
      then 'replayed' else 'event_reused' end;
  else
    insert into public.learner_progress as p
      (learner_id, chapter_id, chapter_version, percent, completed_at, time_spent_seconds)
    values (p_learner_id, p_chapter_id, p_chapter_version, p_percent,
      case when p_percent >= 100 then now() end, p_time_spent_seconds)
    on conflict on constraint learner_progress_pkey do update set
      chapter_version = greatest(p.chapter_version, excluded.chapter_version),
      -- Never backwards, unless the learner reset this chapter on purpose.
      percent = case when p_reset then excluded.percent else greatest(p.percent, excluded.percent) end,
      completed_at = case
        when p_reset then excluded.completed_at
        else coalesce(p.completed_at, excluded.completed_at) end,
      time_spent_seconds = p.time_spent_seconds + excluded.time_spent_seconds,
      updated_at = now();
  end if;
  return query select v_outcome, p.chapter_id, p.chapter_version, p.percent, p.completed_at,
    p.time_spent_seconds, p.updated_at
  from public.learner_progress p
  where p.learner_id = p_learner_id and p.chapter_id = p_chapter_id;
end
$$;

comment on function public.record_learner_progress(uuid, uuid, text, integer, numeric, integer, boolean) is
  'One idempotent progress update (see the body); the edge route and a learner''s own client both call it.';

revoke all on function public.record_learner_progress(uuid, uuid, text, integer, numeric, integer, boolean) from public, anon;
grant execute on function public.record_learner_progress(uuid, uuid, text, integer, numeric, integer, boolean) to authenticated;

-- The profile, read and changed through functions so that the server (on the local database) and
-- a learner's own client (PostgREST, with RLS) share one implementation. Security invoker: RLS on
-- learner_profiles is what keeps a learner to their own row.
create function public.learner_profile(p_learner_id uuid)
returns table (is_staff boolean, display_name text, locale text, preferences jsonb, updated_at timestamptz)
language sql stable security invoker
set search_path = public, pg_temp
as $$
  select s.is_staff, p.display_name, p.locale, p.preferences, p.updated_at
  from (
    select exists (
      select 1 from public.staff st where st.auth_user_id = p_learner_id and st.disabled_at is null
    ) as is_staff
  ) s
  left join public.learner_profiles p on p.learner_id = p_learner_id
$$;

comment on function public.learner_profile(uuid) is
  'A learner''s profile (no row until first changed) and whether the id is a staff account instead.';

-- Null arguments leave a field as it is; preferences are merged key by key.
create function public.update_learner_profile(
  p_learner_id uuid, p_display_name text, p_locale text, p_preferences jsonb
)
returns table (is_staff boolean, display_name text, locale text, preferences jsonb, updated_at timestamptz)
language plpgsql security invoker
set search_path = public, pg_temp
as $$
begin
  if exists (select 1 from public.staff st where st.auth_user_id = p_learner_id and st.disabled_at is null) then
    return query select true, null::text, null::text, null::jsonb, null::timestamptz;
    return;
  end if;
  return query
  insert into public.learner_profiles as p (learner_id, display_name, locale, preferences)
  values (p_learner_id, coalesce(p_display_name, ''), coalesce(p_locale, 'en'), coalesce(p_preferences, '{}'::jsonb))
  on conflict on constraint learner_profiles_pkey do update set
    display_name = coalesce(p_display_name, p.display_name),
    locale = coalesce(p_locale, p.locale),
    preferences = p.preferences || coalesce(p_preferences, '{}'::jsonb),
    updated_at = clock_timestamp()
  returning false, p.display_name, p.locale, p.preferences, p.updated_at;
end
$$;

comment on function public.update_learner_profile(uuid, text, text, jsonb) is
  'Creates or changes a learner''s profile; refuses (is_staff = true, nothing written) a staff account.';

revoke all on function public.learner_profile(uuid) from public, anon;
revoke all on function public.update_learner_profile(uuid, text, text, jsonb) from public, anon;
grant execute on function public.learner_profile(uuid) to authenticated;
grant execute on function public.update_learner_profile(uuid, text, text, jsonb) to authenticated;

create table public.api_route_samples (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  route text not null,
  method text not null,
  destination text not null,
  rule_id text not null,
  config_version integer not null,
  status integer not null,
  latency_ms real not null
);

comment on table public.api_route_samples is
  'One row per request of the edge routes (profile, progress): where routeRequest sent it and how long it took, for the Latency page.';

create index api_route_samples_at on public.api_route_samples (at);

alter table public.api_route_samples enable row level security;
create policy "Staff can read route samples" on public.api_route_samples
  for select to authenticated using (public.is_staff());
revoke all on public.api_route_samples from anon, authenticated;
grant select on public.api_route_samples to authenticated;
