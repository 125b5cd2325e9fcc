-- A content manager may put an earlier version of a chapter back. A revert is a new version
-- (the current number + 1) whose content is the chosen version's, so version numbers only grow:
-- a learner's progress names the version read, the next generation's complete_job still writes
-- content_version + 1, and the history keeps what was replaced. The chapters update fires
-- chapters_invalidate_cache, so `chapter:<id>` and `course:<id>` go to the CDN outbox in the
-- same transaction.

alter table public.chapter_versions alter column job_id drop not null;
alter table public.chapter_versions add column reverted_from integer;
alter table public.chapter_versions add column created_by text;
alter table public.chapter_versions add constraint chapter_versions_origin
  check ((job_id is null) = (reverted_from is not null));

comment on column public.chapter_versions.job_id is
  'The generation that wrote this version; null for a revert.';
comment on column public.chapter_versions.reverted_from is
  'For a revert: the earlier version whose content this version puts back; null for a generation.';
comment on column public.chapter_versions.created_by is
  'For a revert: who asked for it (a staff email); null for a generation (its job says who queued it).';

create function public.revert_chapter(p_chapter_id uuid, p_version integer, p_actor text)
returns table (outcome text, version integer, current_version integer)
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_current integer;
  v_source public.chapter_versions;
  v_new integer;
begin
  -- The chapter row lock orders a revert with complete_job, which also updates this row first.
  select c.content_version into v_current from public.chapters c where c.id = p_chapter_id for update;
  if not found then
    return query select 'unknown_chapter'::text, null::integer, null::integer;
    return;
  end if;
  select * into v_source from public.chapter_versions v where v.chapter_id = p_chapter_id and v.version = p_version;
  if not found then
    return query select 'unknown_version'::text, null::integer, v_current;
    return;
  end if;
  if p_version = v_current then
    return query select 'already_current'::text, v_current, v_current;
    return;
  end if;
  update public.chapters c
  set content = v_source.content, content_version = c.content_version + 1, content_updated_at = now()
  where c.id = p_chapter_id
  returning c.content_version into v_new;
  insert into public.chapter_versions (chapter_id, version, job_id, content, model, reverted_from, created_by)
  values (p_chapter_id, v_new, null, v_source.content, v_source.model, p_version, p_actor);
  return query select 'reverted'::text, v_new, v_new;
end
$$;

comment on function public.revert_chapter(uuid, integer, text) is
  'Makes an earlier version of a chapter current again, as a new version (outcome reverted); unknown_chapter, unknown_version or already_current change nothing.';

revoke all on function public.revert_chapter(uuid, integer, text) from public, anon, authenticated;
