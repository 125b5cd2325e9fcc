-- Routing config versions (published to Edge Config) and the audit trail of staff actions.

create table public.control_config_versions (
  version integer primary key,
  config jsonb not null,
  author text not null,
  comment text not null default '',
  diff jsonb not null default '[]',
  reverted_from integer references public.control_config_versions (version),
  created_at timestamptz not null default now(),
  published_at timestamptz,
  publish_error text
);

comment on table public.control_config_versions is
  'Every routing config ever saved (rules, canary percentage, kill switch); append-only, a revert is a new version.';

create table public.audit_log (
  id bigint generated always as identity primary key,
  occurred_at timestamptz not null default now(),
  actor text not null,
  action text not null,
  target_type text,
  target_id text,
  detail jsonb not null default '{}'
);

comment on table public.audit_log is
  'Who did what and when: sign-ins, submissions, cancels, config changes, worker operations, staff changes.';

create index audit_log_occurred_at on public.audit_log (occurred_at desc);

alter table public.control_config_versions enable row level security;
alter table public.audit_log enable row level security;

create policy "Staff can read config versions" on public.control_config_versions
  for select to authenticated using (public.is_staff());

revoke all on public.control_config_versions, public.audit_log from anon, authenticated;
grant select on public.control_config_versions to authenticated;

-- No config version may be edited in place: history is the product.
create function public.forbid_config_version_edit() returns trigger
language plpgsql as $$
begin
  if new.config is distinct from old.config or new.version <> old.version
     or new.author <> old.author or new.diff is distinct from old.diff then
    raise exception 'control_config_versions are append-only; save a new version instead';
  end if;
  return new;
end
$$;

create trigger control_config_versions_append_only
  before update on public.control_config_versions
  for each row execute function public.forbid_config_version_edit();
