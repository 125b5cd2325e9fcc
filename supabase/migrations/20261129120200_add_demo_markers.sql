-- Demo history: `npm start` on the embedded database adds 30 days of made-up jobs, batches,
-- routing versions and a few extra courses so a newcomer's charts show something. Every such row
-- carries is_demo = true, so pages can say "demo history" and `npm run demo:remove` deletes
-- exactly those rows and nothing a person created. Real deployments never set it.

alter table public.courses add column is_demo boolean not null default false;
alter table public.batches add column is_demo boolean not null default false;
alter table public.chapter_content_jobs add column is_demo boolean not null default false;
alter table public.control_config_versions add column is_demo boolean not null default false;

comment on column public.chapter_content_jobs.is_demo is
  'Made-up demo history (npm start on the embedded database); npm run demo:remove deletes these rows.';

-- "Does this range include demo history?" for the pages' label: a tiny index, empty in production.
create index chapter_content_jobs_demo_finished on public.chapter_content_jobs (finished_at) where is_demo;
