-- Chapter cache tags are queued once per statement instead of once per row (issue 18). A
-- set-based completion (complete_jobs) updates up to 200 chapters in one statement; the row
-- trigger wrote one outbox row per chapter, measured at about a quarter of a completion's
-- database time. The statement trigger writes one row with every changed chapter's tag and each
-- course's tag once. The drain already sends the union of many rows' tags in one call, so
-- what reaches Vercel is the same. A one-chapter change (a generation, a revert) writes the same
-- row as before: tags {chapter:<id>, course:<id>}, the same reason.

drop trigger chapters_invalidate_cache on public.chapters;
drop function public.enqueue_chapter_cache_invalidation();

create function public.enqueue_chapters_cache_invalidation() returns trigger
language plpgsql security definer
set search_path = public, pg_temp
as $$
begin
  with changed as (
    select n.id, n.course_id, o.content_version as old_version, n.content_version as new_version
    from new_chapters n join old_chapters o on o.id = n.id
    where o.content is distinct from n.content or o.content_version is distinct from n.content_version
  )
  insert into public.cache_invalidations (tags, reason)
  select array(select 'chapter:' || c.id::text from changed c order by c.id)
           || array(select distinct 'course:' || c.course_id::text from changed c order by 1),
         case when count(*) = 1
           then format('chapter %s content changed (version %s -> %s)', min(id::text), min(old_version), min(new_version))
           else format('%s chapters'' content changed', count(*))
         end
  from changed
  having count(*) > 0;
  return null;
end
$$;

comment on function public.enqueue_chapters_cache_invalidation() is
  'Queues the chapter: and course: cache tags of every chapter whose content or version a statement changed, as one cache_invalidations row.';

create trigger chapters_invalidate_cache
  after update on public.chapters
  referencing old table as old_chapters new table as new_chapters
  for each statement
  execute function public.enqueue_chapters_cache_invalidation();
