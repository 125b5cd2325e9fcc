-- Who published a version: a publish that waited for another one names it (publishes take turns).

alter table public.control_config_versions add column published_by text;

comment on column public.control_config_versions.published_by is
  'Who published this version last; null while it is a draft, and on versions published before it was recorded.';
