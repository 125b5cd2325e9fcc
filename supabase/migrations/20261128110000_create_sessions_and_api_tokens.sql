-- Server-side sessions, API tokens and sign-in attempts. Only the server reads or writes these:
-- RLS is on with no policy, so no browser role can see a single row.

create table public.staff_sessions (
  id uuid primary key default gen_random_uuid(),
  -- SHA-256 of the random cookie value; the cookie alone is the credential, never stored.
  token_hash text not null unique,
  staff_id uuid not null references public.staff (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  last_seen_at timestamptz not null default now(),
  ended_at timestamptz,
  ip text,
  user_agent text
);

comment on table public.staff_sessions is
  'Signed-in browser sessions. Sign-out sets ended_at; a disabled staff member''s sessions stop working at once.';

create index staff_sessions_staff on public.staff_sessions (staff_id) where ended_at is null;

create table public.api_tokens (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  -- SHA-256 of the token; the token itself is shown once, at creation.
  token_hash text not null unique,
  token_prefix text not null,
  scopes text[] not null check (scopes <@ array['submit', 'read', 'cancel'] and cardinality(scopes) > 0),
  created_by uuid not null references public.staff (id),
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  revoked_by uuid references public.staff (id)
);

comment on table public.api_tokens is
  'Bearer tokens for programmatic callers of /api/content/* and /api/jobs/*, with scopes; stored hashed, revocable.';

create table public.sign_in_attempts (
  id bigint generated always as identity primary key,
  occurred_at timestamptz not null default now(),
  email text not null,
  ip text not null,
  succeeded boolean not null
);

comment on table public.sign_in_attempts is
  'Every password sign-in attempt, for rate limiting (failures per email and per address in a window).';

create index sign_in_attempts_email on public.sign_in_attempts (lower(email), occurred_at desc);
create index sign_in_attempts_ip on public.sign_in_attempts (ip, occurred_at desc);

alter table public.staff_sessions enable row level security;
alter table public.api_tokens enable row level security;
alter table public.sign_in_attempts enable row level security;

revoke all on public.staff_sessions, public.api_tokens, public.sign_in_attempts from anon, authenticated;
