-- Indexes for the Jobs page's filters with keyset pagination (newest first). Each serves a
-- filter that can be selective at a million rows; the others ride on created_at's index.
-- Measured by `npm run bench:dashboard`.

drop index public.chapter_content_jobs_batch;
create index chapter_content_jobs_batch on public.chapter_content_jobs (batch_id, created_at desc, id desc)
  where batch_id is not null;

drop index public.chapter_content_jobs_chapter;
create index chapter_content_jobs_chapter on public.chapter_content_jobs (chapter_id, created_at desc, id desc);

create index chapter_content_jobs_status_created on public.chapter_content_jobs (status, created_at desc, id desc);
