-- Staff are the only people who may use Switchyard. Sign-in (Supabase Auth or a local
-- password) resolves to one row here; the role decides what they may do.

create table public.staff (
  id uuid primary key default gen_random_uuid(),
  auth_user_id uuid unique,
  email text not null,
  display_name text not null,
  role text not null check (role in ('content_manager', 'ops', 'finance', 'admin')),
  password_hash text,
  disabled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.staff is
  'Staff members: role and sign-in identity (Supabase user id or a local password hash). Disabled members keep their history.';

create unique index staff_email_key on public.staff (lower(email));

alter table public.staff enable row level security;

-- Security definer so RLS policies on other tables can ask "is the caller staff?"
-- without granting the caller read access to the staff table itself.
create function public.is_staff() returns boolean
language sql stable security definer
set search_path = public, pg_temp
as $$
  select exists (
    select 1 from public.staff
    where auth_user_id = auth.uid() and disabled_at is null
  )
$$;

comment on function public.is_staff() is
  'True when the JWT subject (auth.uid()) is an enabled staff member; used by read policies.';

create policy "Staff can read their own staff row"
  on public.staff for select to authenticated
  using (auth_user_id = auth.uid());

revoke all on public.staff from anon, authenticated;
grant select on public.staff to authenticated;
revoke all on function public.is_staff() from public, anon;
grant execute on function public.is_staff() to authenticated;
