/**
 * npm run bench:dashboard — 1,000,000 jobs over 90 days on the real PostgreSQL, then the server
 * time of the dashboard's reads: the Jobs page (first page, a filtered page, a deep keyset
 * page, a title search) and the Costs and Latency pages. Prints p50/p95 and the plans.
 * Target: p95 ≤ 100 ms each.
 */
import { presentCosts, presentLatency, defaultRange } from '../../app/server/presenters/analytics.server';
import { presentJobList } from '../../app/server/presenters/job-list.server';
import { fmt, freshDatabase, manyChapters, percentile } from './support';

const JOBS = Number(process.env.BENCH_JOBS ?? 1_000_000);
const RUNS = 30;

async function main() {
  const { db } = await freshDatabase('switchyard_bench_dashboard', 4);
  await manyChapters(db, 2000);
  const seedStarted = performance.now();
  // Bulk seed without the per-row status trigger (a million NOTIFYs in one transaction).
  await db.exec('alter table public.chapter_content_jobs disable trigger user');
  for (let offset = 0; offset < JOBS; offset += 100_000) {
    await db.query(
      `insert into public.chapter_content_jobs (chapter_id, status, destination, model, max_tokens, created_by, attempts,
         created_at, started_at, first_token_at, finished_at, input_tokens, output_tokens,
         cost_input_micros, cost_output_micros, cost_cloud_run_micros, cost_vercel_micros, cost_total_micros, route_rule_id, config_version)
       select ch.id, s.status, s.destination, s.model, 4096, 'bench', 1,
              s.created, s.created + interval '2 seconds', s.created + interval '3 seconds',
              case when s.status in ('succeeded', 'failed', 'cancelled') then s.created + (20 + random() * 100) * interval '1 second' end,
              1200, 3000, 2400, 30000, 3000, 0, 35400, 'generate', (n % 3)
       from generate_series($1::int, $2::int) as n
       cross join lateral (select
         now() - (random() * 90) * interval '1 day' as created,
         case when n % 100 = 0 then 'pending' when n % 97 = 0 then 'running' when n % 13 = 0 then 'failed' when n % 29 = 0 then 'cancelled' else 'succeeded' end as status,
         case when n % 10 = 0 then 'edge' else 'cloud' end as destination,
         (array['claude-sonnet-5-5', 'claude-haiku-5-5', 'claude-opus-5-5'])[1 + n % 3] as model) s
       join lateral (select id from public.chapters offset (n % 2000) limit 1) ch on true`,
      [offset + 1, Math.min(offset + 100_000, JOBS)],
    );
  }
  await db.exec('alter table public.chapter_content_jobs enable trigger user');
  await db.exec('analyze public.chapter_content_jobs');
  await db.query(`select public.refresh_job_rollups(((now() at time zone 'utc')::date - 91))`);
  const seeded = (performance.now() - seedStarted) / 1000;

  const deep = await presentJobList(db, { after: (await presentJobList(db, {}, 5000)).nextCursor ?? undefined });
  const cases: [string, () => Promise<unknown>][] = [
    ['jobs: first page', () => presentJobList(db, {})],
    ['jobs: status=failed, destination=edge', () => presentJobList(db, { status: 'failed', destination: 'edge' })],
    ['jobs: page 101 (keyset)', () => presentJobList(db, { after: deep.nextCursor ?? undefined })],
    ['jobs: search "Chapter 17"', () => presentJobList(db, { q: 'Chapter 17' })],
    [
      'jobs: one batch-sized model filter',
      () => presentJobList(db, { model: 'claude-opus-5-5', from: defaultRange().from }),
    ],
    ['costs: last 30 days', () => presentCosts(db, defaultRange())],
    ['latency: last 30 days', () => presentLatency(db, defaultRange())],
  ];
  console.log(
    `bench:dashboard  jobs=${JOBS.toLocaleString('en-US')} over 90 days (seeded in ${fmt(seeded, 1)} s), ${RUNS} runs each`,
  );
  for (const [name, run] of cases) {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      const started = performance.now();
      await run();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    console.log(
      `  ${name.padEnd(40)} p50 ${fmt(percentile(times, 50)).padStart(7)} ms   p95 ${fmt(percentile(times, 95)).padStart(7)} ms  (target ≤ 100)`,
    );
  }
  const plan = await db.query<{ 'QUERY PLAN': string }>(
    `explain select j.id from public.chapter_content_jobs j where j.status = 'failed' order by j.created_at desc, j.id desc limit 51`,
  );
  console.log('  plan (jobs, status filter):');
  for (const line of plan.slice(0, 4)) console.log(`    ${line['QUERY PLAN']}`);
  const rollupPlan = await db.query<{ 'QUERY PLAN': string }>(
    `explain select * from public.job_daily_rollups where day between current_date - 30 and current_date - 1`,
  );
  console.log('  plan (costs, rollups):');
  for (const line of rollupPlan.slice(0, 3)) console.log(`    ${line['QUERY PLAN']}`);
  await db.close();
}

void main();
