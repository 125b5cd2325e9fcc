/**
 * Demo data for someone trying Switchyard: `npm start` on the embedded database adds six demo
 * courses (300 chapters, so a 20-chapter batch can be tried) and 30 days of made-up history —
 * finished, failed and cancelled jobs with tokens, costs priced from app/domain/prices.ts and
 * latencies, a few batches and routing config versions — so Overview, Jobs, Batches, Costs and
 * Latency show something on first start.
 *
 * Every row it writes has is_demo = true; `npm run demo:remove` deletes exactly those rows (and
 * the demo courses nobody has generated with), never anything a person made. The history is
 * generated here with a fixed seed and written in a handful of set-based statements (one INSERT
 * for all jobs), so start-up stays quick.
 */
import { diffConfigs } from '~/domain/config-diff';
import { DEFAULT_ROUTING_CONFIG, type RoutingConfig } from '~/domain/routing';
import {
  cloudRunCostMicros,
  DEFAULT_PRICES,
  tokenCostMicros,
  vercelCostMicros,
  type PriceTable,
} from '~/domain/prices';

import { isDemo, type AppEnv } from '../env.server';
import { addDemoLearners, removeDemoLearners } from './demo-learners.server';
import type { Database, Queryable } from './port.server';

export const DEMO_ACTOR = 'demo-history@demo.switchyard.local';
export const DEMO_DAYS = 30;

const DEMO_COURSES: { slug: string; title: string; audience: string; topics: string[] }[] = [
  {
    slug: 'demo-data-engineering',
    title: 'Data Engineering Foundations (demo)',
    audience: 'Developers moving into data engineering.',
    topics: [
      'Batch vs Streaming',
      'Data Modelling',
      'Change Data Capture',
      'Orchestration',
      'Data Quality',
      'Partitioning',
      'Columnar Formats',
      'Slowly Changing Dimensions',
      'Backfills',
      'Lineage',
    ],
  },
  {
    slug: 'demo-web-security',
    title: 'Web Security for Builders (demo)',
    audience: 'Full-stack developers who ship to the public internet.',
    topics: [
      'Same-Origin Policy',
      'Cross-Site Scripting',
      'CSRF',
      'Session Cookies',
      'Content Security Policy',
      'Password Storage',
      'OAuth and OIDC',
      'Secrets Management',
      'Dependency Risk',
      'Rate Limiting',
    ],
  },
  {
    slug: 'demo-distributed-systems',
    title: 'Distributed Systems in Practice (demo)',
    audience: 'Backend engineers running services at scale.',
    topics: [
      'Timeouts and Retries',
      'Idempotency',
      'Queues',
      'Consensus',
      'Leases',
      'Backpressure',
      'Caching',
      'Replication',
      'Clock Skew',
      'Observability',
    ],
  },
  {
    slug: 'demo-product-analytics',
    title: 'Product Analytics Without Tears (demo)',
    audience: 'Product managers and engineers instrumenting a product.',
    topics: [
      'Event Design',
      'Funnels',
      'Retention',
      'A/B Tests',
      'Sample Size',
      'Attribution',
      'Dashboards',
      'Metric Trees',
      'Privacy',
      'Data Contracts',
    ],
  },
  {
    slug: 'demo-ml-ops',
    title: 'Machine Learning in Production (demo)',
    audience: 'Engineers deploying models behind an API.',
    topics: [
      'Feature Stores',
      'Model Registry',
      'Offline Evaluation',
      'Online Evaluation',
      'Drift',
      'Batch Inference',
      'Latency Budgets',
      'Prompt Versioning',
      'Guardrails',
      'Cost Control',
    ],
  },
  {
    slug: 'demo-technical-writing',
    title: 'Technical Writing for Engineers (demo)',
    audience: 'Engineers who write design docs, READMEs and runbooks.',
    topics: [
      'Audience',
      'Structure',
      'Design Docs',
      'Runbooks',
      'API References',
      'Tutorials',
      'Diagrams',
      'Editing',
      'Release Notes',
      'Decision Records',
    ],
  },
];
const ASPECTS = ['The Core Idea', 'In Practice', 'Common Mistakes', 'A Worked Example', 'Review and Exercises'];

/** Small deterministic PRNG (mulberry32): the same demo history on every machine. */
export function random(seed: number) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function hasDemoHistory(db: Queryable): Promise<boolean> {
  const [row] = await db.query<{ demo: boolean }>(
    'select exists (select 1 from public.chapter_content_jobs where is_demo) or exists (select 1 from public.courses where is_demo) as demo',
  );
  return row.demo;
}

/**
 * `npm start`'s part: demo history on a database it has just seeded, and only where demo accounts
 * are made (the embedded database with nothing configured). A DATABASE_URL, ADMIN_EMAIL or
 * Supabase Auth means real data: nothing is added unless someone runs `npm run demo:add`.
 */
export async function addDemoDataOnFirstStart(db: Database, env: AppEnv, freshlySeeded: boolean) {
  return freshlySeeded && isDemo(env) ? addDemoData(db) : null;
}

/**
 * Adds the demo courses and history unless they are there already. Returns what it added, for
 * the start-up message.
 */
export async function addDemoData(
  db: Database,
  options: { now?: Date; prices?: PriceTable } = {},
): Promise<{ chapters: number; jobs: number; learners: number } | null> {
  if (await hasDemoHistory(db)) return null;
  const now = options.now ?? new Date();
  const prices = options.prices ?? DEFAULT_PRICES;
  return db.transaction(async (tx) => {
    await tx.query(
      `insert into public.courses (slug, title, audience, style_guide, is_demo)
       select c ->> 'slug', c ->> 'title', c ->> 'audience',
              'Plain, direct English with one worked example per section. (Demo course.)', true
       from jsonb_array_elements($1::jsonb) as c
       on conflict (slug) do nothing`,
      [JSON.stringify(DEMO_COURSES)],
    );
    const chapterRows = await tx.query<{ id: string }>(
      `insert into public.chapters (course_id, position, title, outline)
       select c.id, (t.n - 1) * $2::integer + a.n, t.topic || ': ' || a.aspect,
              '- Why ' || lower(t.topic) || ' matters' || E'\\n- ' || a.aspect || E'\\n- Key terms and a checklist'
       from public.courses c
       join jsonb_array_elements($1::jsonb) as spec on spec ->> 'slug' = c.slug
       cross join lateral jsonb_array_elements_text(spec -> 'topics') with ordinality as t (topic, n)
       cross join unnest($3::text[]) with ordinality as a (aspect, n)
       where c.is_demo
       on conflict (course_id, position) do nothing
       returning id`,
      [JSON.stringify(DEMO_COURSES), ASPECTS.length, ASPECTS],
    );
    const chapterIds = chapterRows.map((row) => row.id);
    if (chapterIds.length === 0) return { chapters: 0, jobs: 0, learners: 0 };

    const versions = await addDemoConfigVersions(tx, now);
    const { jobs, batches } = demoJobs(chapterIds, versions, now, prices);
    await tx.query(
      `insert into public.batches (id, name, job_count, created_by, created_at, is_demo)
       select id, name, job_count, $2, created_at, true
       from jsonb_to_recordset($1::jsonb) as b (id uuid, name text, job_count integer, created_at timestamptz)`,
      [JSON.stringify(batches), DEMO_ACTOR],
    );
    // One INSERT for the whole history. The status trigger (an event row and a NOTIFY per job)
    // is off for it: nobody waits on made-up jobs, and their timelines are written below instead.
    // ALTER TABLE locks the table until commit; this runs on a database nobody uses yet.
    await tx.query('alter table public.chapter_content_jobs disable trigger chapter_content_jobs_status_inserted');
    await tx.query(
      `insert into public.chapter_content_jobs (
         id, chapter_id, batch_id, status, destination, route_rule_id, config_version, priority, timeout_ms,
         attempts, max_retries, max_attempts, created_by, model, max_tokens, generator, stop_reason, error_code,
         error_message, created_at, queued_at, requested_at, run_after, dispatched_at, started_at, first_token_at,
         finished_at, updated_at, input_tokens, output_tokens, cache_write_5m_tokens, cache_read_tokens, busy_ms,
         cost_input_micros, cost_output_micros, cost_cache_write_micros, cost_cache_read_micros,
         cost_cloud_run_micros, cost_vercel_micros, cost_total_micros, progress_output_tokens, is_demo)
       select id, chapter_id, batch_id, status, destination, route_rule_id, config_version, 'normal',
              case when destination = 'edge' then 10000 else 300000 end,
              attempts, 2, 3, $2, model, 4096, 'anthropic', stop_reason, error_code, error_message,
              created_at, created_at, created_at, created_at,
              case when destination = 'cloud' then created_at end, started_at, first_token_at, finished_at,
              finished_at, input_tokens, output_tokens, cache_write_5m_tokens, cache_read_tokens, busy_ms,
              cost_input_micros, cost_output_micros, cost_cache_write_micros, cost_cache_read_micros,
              cost_cloud_run_micros, cost_vercel_micros,
              cost_input_micros + cost_output_micros + cost_cache_write_micros + cost_cache_read_micros
                + cost_cloud_run_micros + cost_vercel_micros,
              output_tokens, true
       from jsonb_to_recordset($1::jsonb) as j (
         id uuid, chapter_id uuid, batch_id uuid, status text, destination text, route_rule_id text,
         config_version integer, attempts integer, model text, stop_reason text, error_code text, error_message text,
         created_at timestamptz, started_at timestamptz, first_token_at timestamptz, finished_at timestamptz,
         input_tokens integer, output_tokens integer, cache_write_5m_tokens integer, cache_read_tokens integer,
         busy_ms integer, cost_input_micros bigint, cost_output_micros bigint, cost_cache_write_micros bigint,
         cost_cache_read_micros bigint, cost_cloud_run_micros bigint, cost_vercel_micros bigint)`,
      [JSON.stringify(jobs), DEMO_ACTOR],
    );
    await tx.query('alter table public.chapter_content_jobs enable trigger chapter_content_jobs_status_inserted');
    await tx.query(
      `with demo as (
         select id, status, attempts, created_at, started_at, finished_at, error_code, error_message
         from public.chapter_content_jobs where is_demo
       )
       insert into public.job_events (job_id, occurred_at, event, from_status, to_status, attempt, detail)
       select id, created_at, 'submitted', null, 'pending', 0, '{"demo": true}'::jsonb from demo
       union all
       select id, started_at, 'running', 'pending', 'running', attempts, '{"worker": "demo-worker"}'::jsonb
       from demo where started_at is not null
       union all
       select id, finished_at, status, case when started_at is null then 'pending' else 'running' end, status, attempts,
              jsonb_strip_nulls(jsonb_build_object('error_code', error_code, 'error_message', error_message))
       from demo`,
    );
    // The ledger the Costs page reads: one attempt per made-up job, holding its totals.
    await tx.query('select public.book_jobs_without_attempts()');
    await tx.query('select public.refresh_job_rollups($1::date)', [
      new Date(now.getTime() - (DEMO_DAYS + 1) * 86_400_000).toISOString().slice(0, 10),
    ]);
    const learners = await addDemoLearners(tx, now);
    return { chapters: chapterIds.length, jobs: jobs.length, learners };
  });
}

/**
 * A canary rollout as routing history: four published versions, two on the same day (the charts
 * group them into one marker). The last one is the default configuration, so the demo routes
 * exactly as a fresh installation would. Skipped when real versions exist.
 */
async function addDemoConfigVersions(tx: Queryable, now: Date): Promise<{ version: number; at: Date }[]> {
  const [{ count }] = await tx.query<{ count: number }>('select count(*) as count from public.control_config_versions');
  if (count > 0) return [];
  const steps: { daysAgo: number; hour: number; canary: number; comment: string }[] = [
    { daysAgo: 24, hour: 9, canary: 10, comment: 'Start the cloud canary at 10%' },
    { daysAgo: 17, hour: 14, canary: 25, comment: 'Canary to 25%: p95 holds' },
    { daysAgo: 6, hour: 10, canary: 50, comment: 'Canary to 50%' },
    { daysAgo: 6, hour: 16, canary: 100, comment: 'All generation to the cloud' },
  ];
  let previous: RoutingConfig = DEFAULT_ROUTING_CONFIG;
  const rows = steps.map((step, i) => {
    const config = { ...DEFAULT_ROUTING_CONFIG, canaryPercent: step.canary };
    const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - step.daysAgo, step.hour));
    const row = {
      version: i + 1,
      config,
      comment: `${step.comment} (demo)`,
      diff: diffConfigs(previous, config),
      at: at.toISOString(),
    };
    previous = config;
    return row;
  });
  await tx.query(
    `insert into public.control_config_versions (version, config, author, comment, diff, created_at, published_at, is_demo)
     select version, config, $2, comment, diff, at, at, true
     from jsonb_to_recordset($1::jsonb) as v (version integer, config jsonb, comment text, diff jsonb, at timestamptz)`,
    [JSON.stringify(rows), DEMO_ACTOR],
  );
  return rows.map((row) => ({ version: row.version, at: new Date(row.at) }));
}

interface DemoJob {
  id: string;
  chapter_id: string;
  batch_id: string | null;
  status: 'succeeded' | 'failed' | 'cancelled';
  destination: 'edge' | 'cloud';
  route_rule_id: string;
  config_version: number | null;
  attempts: number;
  model: string;
  stop_reason: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  started_at: string | null;
  first_token_at: string | null;
  finished_at: string;
  input_tokens: number;
  output_tokens: number;
  cache_write_5m_tokens: number;
  cache_read_tokens: number;
  busy_ms: number;
  cost_input_micros: number;
  cost_output_micros: number;
  cost_cache_write_micros: number;
  cost_cache_read_micros: number;
  cost_cloud_run_micros: number;
  cost_vercel_micros: number;
}

/** Roughly 40 jobs a day for 30 days, more on weekdays and in working hours, plus three batches. */
function demoJobs(
  chapterIds: string[],
  versions: { version: number; at: Date }[],
  now: Date,
  prices: PriceTable,
): { jobs: DemoJob[]; batches: { id: string; name: string; job_count: number; created_at: string }[] } {
  const next = random(20261129);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
  const between = (low: number, high: number) => Math.round(low + next() * (high - low));
  const uuid = () => crypto.randomUUID();
  const startOfToday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const jobs: DemoJob[] = [];
  const batches: { id: string; name: string; job_count: number; created_at: string }[] = [];
  const batchDays = new Map([
    [22, 'Demo history: Web Security, first draft'],
    [12, 'Demo history: Distributed Systems refresh'],
    [3, 'Demo history: ML in Production launch'],
  ]);

  for (let daysAgo = DEMO_DAYS - 1; daysAgo >= 1; daysAgo -= 1) {
    const dayStart = startOfToday - daysAgo * 86_400_000;
    const weekday = new Date(dayStart).getUTCDay();
    const perDay = weekday === 0 || weekday === 6 ? between(8, 16) : between(30, 55);
    const batchName = batchDays.get(daysAgo);
    const batch = batchName
      ? { id: uuid(), name: batchName, job_count: 20, created_at: new Date(dayStart + 11 * 3_600_000).toISOString() }
      : null;
    if (batch) batches.push(batch);
    const count = perDay + (batch ? batch.job_count : 0);
    for (let i = 0; i < count; i += 1) {
      const inBatch = batch !== null && i >= perDay;
      const createdAt = inBatch
        ? Date.parse(batch.created_at) + (i - perDay) * 50
        : dayStart + (8 + next() * 10) * 3_600_000 + next() * 3_600_000 * (next() < 0.15 ? 6 : 0);
      const version = [...versions].reverse().find((candidate) => candidate.at.getTime() <= createdAt);
      const canary = version ? [10, 25, 50, 100][version.version - 1] : 0;
      const destination: 'edge' | 'cloud' = inBatch || next() * 100 < canary ? 'cloud' : 'edge';
      const model = inBatch
        ? 'claude-sonnet-5-5'
        : next() < 0.6
          ? 'claude-sonnet-5-5'
          : next() < 0.75
            ? 'claude-haiku-5-5'
            : 'claude-opus-5-5';
      const roll = next();
      const status: DemoJob['status'] = roll < 0.9 ? 'succeeded' : roll < 0.96 ? 'failed' : 'cancelled';
      const cancelledWaiting = status === 'cancelled' && next() < 0.5;
      const queueMs =
        destination === 'edge' ? between(5, 40) : next() < 0.9 ? between(150, 4000) : between(4000, 40000);
      const ttftMs = destination === 'edge' ? between(350, 1200) : between(600, 2200);
      const outputTokens =
        status === 'succeeded' ? (destination === 'edge' ? between(150, 450) : between(1500, 4000)) : between(0, 900);
      const generationMs = Math.round((outputTokens / between(55, 90)) * 1000);
      const startedAt = cancelledWaiting ? null : createdAt + queueMs;
      const firstTokenAt = startedAt === null || outputTokens === 0 ? null : startedAt + ttftMs;
      const finishedAt =
        startedAt === null ? createdAt + between(2000, 60000) : (firstTokenAt ?? startedAt) + generationMs + 200;
      const busyMs = startedAt === null ? 0 : finishedAt - startedAt;
      const usage = {
        inputTokens: startedAt === null ? 0 : between(300, 700),
        outputTokens,
        cacheWrite5mTokens: startedAt !== null && next() < 0.1 ? between(900, 1400) : 0,
        cacheWrite1hTokens: 0,
        cacheReadTokens: startedAt === null ? 0 : between(900, 1400),
      };
      const tokenCost = tokenCostMicros(prices, model, usage, new Date(createdAt));
      const failed = status === 'failed';
      jobs.push({
        id: uuid(),
        chapter_id: inBatch ? chapterIds[(daysAgo * 7 + (i - perDay)) % chapterIds.length] : pick(chapterIds),
        batch_id: inBatch ? batch.id : null,
        status,
        destination,
        route_rule_id: inBatch ? 'batch' : 'generate',
        config_version: version?.version ?? null,
        attempts: startedAt === null ? 0 : failed ? between(1, 3) : 1,
        model,
        stop_reason: status === 'succeeded' ? 'end_turn' : null,
        error_code: failed
          ? pick(['overloaded_error', 'timeout', 'api_error'])
          : status === 'cancelled'
            ? 'cancelled'
            : null,
        error_message: failed
          ? 'The model provider was overloaded; retries were spent. (Demo history.)'
          : status === 'cancelled'
            ? 'Cancelled by a content manager. (Demo history.)'
            : null,
        created_at: new Date(createdAt).toISOString(),
        started_at: startedAt === null ? null : new Date(startedAt).toISOString(),
        first_token_at: firstTokenAt === null ? null : new Date(firstTokenAt).toISOString(),
        finished_at: new Date(finishedAt).toISOString(),
        input_tokens: usage.inputTokens,
        output_tokens: usage.outputTokens,
        cache_write_5m_tokens: usage.cacheWrite5mTokens,
        cache_read_tokens: usage.cacheReadTokens,
        busy_ms: busyMs,
        cost_input_micros: tokenCost.input,
        cost_output_micros: tokenCost.output,
        cost_cache_write_micros: tokenCost.cacheWrite,
        cost_cache_read_micros: tokenCost.cacheRead,
        cost_cloud_run_micros: destination === 'cloud' ? cloudRunCostMicros(prices, busyMs) : 0,
        cost_vercel_micros: destination === 'edge' && startedAt !== null ? vercelCostMicros(prices, busyMs) : 0,
      });
    }
  }
  return { jobs, batches };
}

/**
 * Deletes the demo history and the demo courses nobody has generated with; real jobs, batches,
 * config versions and courses stay. The rollups of the affected days are rebuilt.
 */
export async function removeDemoData(
  db: Database,
): Promise<{ jobs: number; batches: number; versions: number; courses: number }> {
  return db.transaction(async (tx) => {
    const [{ first }] = await tx.query<{ first: Date | null }>(
      'select min(finished_at) as first from public.chapter_content_jobs where is_demo',
    );
    await removeDemoLearners(tx);
    const jobs = await tx.query('delete from public.chapter_content_jobs where is_demo returning id');
    const batches = await tx.query(
      `delete from public.batches b where b.is_demo
         and not exists (select 1 from public.chapter_content_jobs j where j.batch_id = b.id)
       returning id`,
    );
    // A real version that reverted to a demo one keeps it: history must stay whole.
    const versions = await tx.query(
      `delete from public.control_config_versions v where v.is_demo
         and not exists (select 1 from public.control_config_versions r where r.reverted_from = v.version and not r.is_demo)
       returning version`,
    );
    const courses = await tx.query(
      `delete from public.courses c where c.is_demo
         and not exists (
           select 1 from public.chapter_content_jobs j join public.chapters ch on ch.id = j.chapter_id
           where ch.course_id = c.id)
       returning id`,
    );
    if (first) {
      await tx.query("select public.refresh_job_rollups(($1::timestamptz at time zone 'utc')::date)", [first]);
    }
    return { jobs: jobs.length, batches: batches.length, versions: versions.length, courses: courses.length };
  });
}
