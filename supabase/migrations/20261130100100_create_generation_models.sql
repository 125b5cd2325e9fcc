-- The models a job may name: those with prices (app/domain/prices.ts DEFAULT_PRICES, kept equal
-- by a test). Before, submit_job accepted any model; a job with a model the price table did not
-- know reached the worker, the cost computation threw, its lease was reaped and it ran again,
-- spending each time. The API and the pages refuse such a model already; this foreign key refuses
-- it for every other caller of the SQL functions too.
--
-- NOT VALID: rows from before keep their model (old jobs stay readable); every new or changed
-- row is checked.

create table public.generation_models (
  model text primary key,
  source text not null,
  added_at timestamptz not null default now()
);

comment on table public.generation_models is
  'Models with prices: a job may only name one of these (foreign key from chapter_content_jobs.model).';

insert into public.generation_models (model, source) values
  ('claude-opus-5-5', 'app/domain/prices.ts'),
  ('claude-sonnet-5-5', 'app/domain/prices.ts'),
  ('claude-haiku-5-5', 'app/domain/prices.ts');

alter table public.generation_models enable row level security;
create policy "Staff can read generation models" on public.generation_models
  for select to authenticated using (public.is_staff());
revoke all on public.generation_models from anon, authenticated;
grant select on public.generation_models to authenticated;

alter table public.chapter_content_jobs
  add constraint chapter_content_jobs_model_is_priced
  foreign key (model) references public.generation_models (model) not valid;
