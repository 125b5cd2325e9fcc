-- Read-back confirmation of a publish: when the read path (Edge Config, as the router reads it)
-- first served the version, and how long after the write was acknowledged. A version published
-- to the database only is effective at once.

alter table public.control_config_versions
  add column effective_at timestamptz,
  add column propagation_ms integer;

update public.control_config_versions set effective_at = published_at, propagation_ms = 0
where published_at is not null;

comment on column public.control_config_versions.effective_at is
  'When the router''s read path first served this version (read back after the publish); null until confirmed.';
comment on column public.control_config_versions.propagation_ms is
  'Milliseconds from the acknowledged publish to effective_at.';
