-- Development data only: three courses with chapters and outlines to generate.
-- Safe to run twice (npm run db:seed): existing rows are left alone.

insert into public.courses (slug, title, audience, style_guide) values
  ('postgres-for-app-developers', 'PostgreSQL for Application Developers',
   'Backend developers who know SQL basics and want to run PostgreSQL well in production.',
   'Plain, direct English. Every concept gets a runnable SQL example. Short paragraphs, second person, no marketing language.'),
  ('intro-to-typescript', 'A Practical Introduction to TypeScript',
   'JavaScript developers adopting TypeScript in an existing codebase.',
   'Friendly and concrete. Show the JavaScript first, then the typed version. Explain compiler errors in the words a beginner would search for.'),
  ('cloud-cost-literacy', 'Cloud Cost Literacy for Engineers',
   'Engineers and engineering managers who approve cloud spend.',
   'Numbers first: every claim comes with a worked cost example. Neutral about vendors. Use tables for comparisons.')
on conflict (slug) do nothing;

insert into public.chapters (course_id, position, title, outline)
select c.id, ch.position, ch.title, ch.outline
from (values
  ('postgres-for-app-developers', 1, 'How PostgreSQL Stores a Row', E'- Heap pages and tuples\n- MVCC: why an UPDATE writes a new row version\n- VACUUM and what bloat costs you'),
  ('postgres-for-app-developers', 2, 'Indexes That Earn Their Keep', E'- B-tree basics and the leftmost-prefix rule\n- Partial and covering indexes\n- Reading EXPLAIN ANALYZE'),
  ('postgres-for-app-developers', 3, 'Transactions and Isolation', E'- Read committed vs repeatable read vs serializable\n- Lost updates and SELECT ... FOR UPDATE\n- Retrying serialization failures'),
  ('postgres-for-app-developers', 4, 'A Job Queue in PostgreSQL', E'- FOR UPDATE SKIP LOCKED\n- Leases and heartbeats\n- LISTEN/NOTIFY for wake-ups'),
  ('postgres-for-app-developers', 5, 'Connection Pooling', E'- Why connections are expensive\n- Session vs transaction pooling\n- What breaks behind a transaction pooler'),
  ('intro-to-typescript', 1, 'Why Types Pay Off', E'- Bugs the compiler catches\n- Editor feedback as documentation\n- The cost: build step and learning curve'),
  ('intro-to-typescript', 2, 'Everyday Types', E'- Primitives, arrays and objects\n- Unions and narrowing\n- type vs interface'),
  ('intro-to-typescript', 3, 'Generics Without Fear', E'- Generic functions\n- Constraints with extends\n- When not to use generics'),
  ('intro-to-typescript', 4, 'Migrating a JavaScript Project', E'- allowJs and checkJs\n- Strictness one flag at a time\n- Typing third-party modules'),
  ('cloud-cost-literacy', 1, 'Reading a Cloud Bill', E'- Meters, SKUs and regions\n- Committed use vs on-demand\n- Tagging for attribution'),
  ('cloud-cost-literacy', 2, 'Serverless Pricing, Demystified', E'- Request fees, CPU-seconds and GiB-seconds\n- Cold starts and minimum instances\n- A worked example: 1,000 jobs a month'),
  ('cloud-cost-literacy', 3, 'Paying for Tokens', E'- Input, output and cached tokens\n- Prompt caching break-even\n- Batch discounts and when they apply')
) as ch (course_slug, position, title, outline)
join public.courses c on c.slug = ch.course_slug
on conflict (course_id, position) do nothing;
