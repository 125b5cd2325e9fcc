-- Courses and their chapters are what gets generated. A chapter holds its current
-- content; every successful generation also leaves an immutable chapter_versions row.

create table public.courses (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique,
  title text not null,
  audience text not null default '',
  style_guide text not null default '',
  created_at timestamptz not null default now()
);

comment on table public.courses is
  'Courses: the audience and style guide that every chapter prompt shares (the cached part of the prompt).';

create table public.chapters (
  id uuid primary key default gen_random_uuid(),
  course_id uuid not null references public.courses (id) on delete cascade,
  position integer not null,
  title text not null,
  outline text not null default '',
  content text,
  content_version integer not null default 0,
  content_updated_at timestamptz,
  created_at timestamptz not null default now(),
  unique (course_id, position)
);

comment on table public.chapters is
  'Chapters of a course: title and outline (the prompt) and the current generated content with its version number.';

create index chapters_title_search on public.chapters (lower(title) text_pattern_ops);

create table public.chapter_versions (
  id bigint generated always as identity primary key,
  chapter_id uuid not null references public.chapters (id) on delete cascade,
  version integer not null,
  job_id uuid not null unique,
  content text not null,
  model text not null,
  created_at timestamptz not null default now(),
  unique (chapter_id, version)
);

comment on table public.chapter_versions is
  'One row per successful generation, keyed by the job that produced it: a retried or reclaimed job can never write two.';

alter table public.courses enable row level security;
alter table public.chapters enable row level security;
alter table public.chapter_versions enable row level security;

create policy "Staff can read courses" on public.courses
  for select to authenticated using (public.is_staff());
create policy "Staff can read chapters" on public.chapters
  for select to authenticated using (public.is_staff());
create policy "Staff can read chapter versions" on public.chapter_versions
  for select to authenticated using (public.is_staff());

revoke all on public.courses, public.chapters, public.chapter_versions from anon, authenticated;
grant select on public.courses, public.chapters, public.chapter_versions to authenticated;
