-- The version an edit started from: a save is refused when someone else saved after it
-- (optimistic concurrency), and the recorded diff is against this base. Null on versions saved
-- before it was recorded. Not a foreign key: removing demo versions must not touch real ones.

alter table public.control_config_versions add column based_on integer;

comment on column public.control_config_versions.based_on is
  'The version the editor started from (its diff is against it); null when unknown.';
