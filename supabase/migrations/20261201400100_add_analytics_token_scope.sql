-- API tokens gain the scope `analytics`: a program (a nightly report, a BI tool) may queue
-- learning analytics (POST /api/analytics/compute) without a finance or admin session. The
-- server maps the scope to the permission `analytics.compute` (app/server/auth/auth.server.ts).
alter table public.api_tokens drop constraint api_tokens_scopes_check;
alter table public.api_tokens add constraint api_tokens_scopes_check
  check (scopes <@ array['submit', 'read', 'cancel', 'analytics'] and cardinality(scopes) > 0);

comment on column public.api_tokens.scopes is
  'What the token may do: submit (queue and retry generations), read (follow jobs), cancel, analytics (queue learning analytics).';
