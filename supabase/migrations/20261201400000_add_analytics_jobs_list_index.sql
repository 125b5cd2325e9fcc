-- The Jobs page lists every kind of job and filters by kind. Analytics jobs are a handful among
-- millions of generations: without an index of their own, "kind = analytics, newest first"
-- walks the created_at index through every generation to find 51 of them. Partial, so the
-- generations' inserts (the queue's hot path) do not maintain it.
create index chapter_content_jobs_analytics_created
  on public.chapter_content_jobs (created_at desc, id desc)
  where kind = 'analytics';

comment on index public.chapter_content_jobs_analytics_created is
  'The Jobs page''s kind filter for analytics jobs, newest first (keyset paging by created_at, id).';
