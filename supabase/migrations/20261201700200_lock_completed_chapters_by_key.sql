-- complete_jobs locks its chapters by key (issue 18, ADR 0022).
--
-- Its `where c.id = any(v_chapters)` got a sequential scan of every chapter in its cached
-- generic plan, testing each row against every element of the array: with bench:queue's 2,000
-- chapters and 100 completions a call, 200,000 uuid comparisons a call, more with more chapters.
-- `in (select unnest(...))` is planned as a join (a hash of the ids, or an index lookup each).
-- Otherwise unchanged from 20261201300000_create_set_based_completions.sql.

create or replace function public.complete_jobs(p_results jsonb)
returns table (job_id uuid, completed boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  v_ids uuid[];
  v_chapters uuid[];
  v_models text[];
  v_contents text[];
  v_stop_reasons text[];
  v_usages jsonb[];
begin
  -- The lease check and the row locks in one pass, in id order; under READ COMMITTED a row
  -- changed by a concurrent commit (reaped, cancelled) is checked again in its new version.
  select coalesce(array_agg(h.id order by h.n), '{}'), array_agg(h.chapter_id order by h.n),
         array_agg(h.model order by h.n), array_agg(h.content order by h.n),
         array_agg(h.stop_reason order by h.n), array_agg(h.usage order by h.n)
  into v_ids, v_chapters, v_models, v_contents, v_stop_reasons, v_usages
  from (
    select j.id, j.chapter_id, j.model, r.content, r.stop_reason, r.usage, r.n
    from public.chapter_content_jobs j
    join (
      select distinct on ((e ->> 'job_id')::uuid)
        (e ->> 'job_id')::uuid as job_id, e ->> 'worker' as worker, e ->> 'content' as content,
        e ->> 'stop_reason' as stop_reason, coalesce(e -> 'usage', '{}'::jsonb) as usage, n
      from jsonb_array_elements(p_results) with ordinality as t (e, n)
      order by (e ->> 'job_id')::uuid, n
    ) r on r.job_id = j.id
    where j.status = 'running' and j.lease_owner = r.worker and j.kind = 'generation'
    order by j.id
    for update of j
  ) h;

  if cardinality(v_ids) > 0 then
    perform 1 from public.chapters c where c.id in (select unnest(v_chapters)) order by c.id for no key update;

    -- Several jobs of one chapter in one call: the chapter's version goes up by their number in
    -- one update (a row can be updated once per statement), each job getting its own version
    -- in the order given, and the chapter keeping the last one's content.
    with done as (
      select d.*,
             row_number() over (partition by d.chapter_id order by d.n) as rank,
             count(*) over (partition by d.chapter_id) as per_chapter
      from unnest(v_ids, v_chapters, v_models, v_contents) with ordinality as d (id, chapter_id, model, content, n)
    ),
    bumped as (
      update public.chapters c
      set content = d.content, content_version = c.content_version + d.per_chapter, content_updated_at = now()
      from done d
      where c.id = d.chapter_id and d.rank = d.per_chapter
      returning c.id, c.content_version
    )
    insert into public.chapter_versions (chapter_id, version, job_id, content, model)
    select d.chapter_id, b.content_version - d.per_chapter + d.rank, d.id, d.content, d.model
    from done d join bumped b on b.id = d.chapter_id;

    perform public.finish_attempts(
      v_ids, v_usages,
      array_fill('succeeded'::text, array[cardinality(v_ids)]), array_fill(0, array[cardinality(v_ids)]),
      array_fill(null::text, array[cardinality(v_ids)]), array_fill(null::text, array[cardinality(v_ids)]),
      v_stop_reasons, array_fill(null::timestamptz, array[cardinality(v_ids)])
    );
  end if;

  return query
  select r.job_id, r.job_id = any(v_ids)
  from (
    select distinct on ((e ->> 'job_id')::uuid) (e ->> 'job_id')::uuid as job_id, n
    from jsonb_array_elements(p_results) with ordinality as t (e, n)
    order by (e ->> 'job_id')::uuid, n
  ) r
  order by r.n;
end
$$;
