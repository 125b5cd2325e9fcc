-- Cache tags to invalidate at the CDN (Vercel's invalidate-by-tag), written by triggers in the
-- same transaction as the change that makes a cached answer stale: a new chapter version, a
-- chapter's content put back (a revert), a learner's profile changed. A row is the audit of one
-- invalidation: attempts, last error, when it was sent. Sent by drainCacheInvalidations
-- (app/server/cache-invalidation.server.ts) from the app and the sweeper, retried with backoff.

create table public.cache_invalidations (
  id bigint generated always as identity primary key,
  tags text[] not null check (cardinality(tags) > 0),
  reason text not null,
  created_at timestamptz not null default now(),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  sent_at timestamptz,
  last_error text
);

comment on table public.cache_invalidations is
  'Outbox of CDN cache-tag invalidations, one row per change that staled cached answers; sent_at set once Vercel accepted it.';

-- The drain reads only what is still to send.
create index cache_invalidations_pending on public.cache_invalidations (next_attempt_at) where sent_at is null;

alter table public.cache_invalidations enable row level security;
create policy "Staff can read cache invalidations" on public.cache_invalidations
  for select to authenticated using (public.is_staff());
revoke all on public.cache_invalidations from anon, authenticated;
grant select on public.cache_invalidations to authenticated;

create function public.enqueue_chapter_cache_invalidation() returns trigger
language plpgsql security definer
set search_path = public, pg_temp
as $$
begin
  insert into public.cache_invalidations (tags, reason)
  values (
    array['chapter:' || new.id::text, 'course:' || new.course_id::text],
    format('chapter %s content changed (version %s -> %s)', new.id, old.content_version, new.content_version)
  );
  return null;
end
$$;

create trigger chapters_invalidate_cache
  after update of content, content_version on public.chapters
  for each row
  when (old.content is distinct from new.content or old.content_version is distinct from new.content_version)
  execute function public.enqueue_chapter_cache_invalidation();

create function public.enqueue_profile_cache_invalidation() returns trigger
language plpgsql security definer
set search_path = public, pg_temp
as $$
begin
  insert into public.cache_invalidations (tags, reason)
  values (array['profile:' || new.learner_id::text], 'learner profile changed');
  return null;
end
$$;

create trigger learner_profiles_invalidate_cache
  after insert or update on public.learner_profiles
  for each row
  execute function public.enqueue_profile_cache_invalidation();
