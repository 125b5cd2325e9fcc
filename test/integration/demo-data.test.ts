import { tokenCostMicros, DEFAULT_PRICES } from '../../app/domain/prices';
import { addDemoData, addDemoDataOnFirstStart, DEMO_DAYS, removeDemoData } from '../../app/server/db/demo.server';
import { parseEnv } from '../../app/server/env.server';
import { presentCosts, presentLatency } from '../../app/server/presenters/analytics.server';
import { presentOverview } from '../../app/server/presenters/overview.server';
import { claimJobs, completeJob, submitJob } from '../../app/server/queue.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { newJob, seededChapterIds } from '../support/fixtures';

const month = () => {
  const now = new Date();
  return {
    from: new Date(now.getTime() - (DEMO_DAYS - 1) * 86_400_000).toISOString().slice(0, 10),
    to: now.toISOString().slice(0, 10),
  };
};

/** npm start's demo history: there for a newcomer, gone with one command, never mixed with real data. */
describe.each(databaseTargets())('demo history on $name', (target) => {
  let test_: TestDatabase;

  beforeEach(async () => {
    test_ = await target.create();
  });
  afterEach(() => test_.drop());

  it('adds a few hundred chapters and 30 days of priced, labelled history the charts show', async () => {
    await seededChapterIds(test_.db);
    const added = await addDemoData(test_.db);
    expect(added!.chapters).toBeGreaterThanOrEqual(300);
    expect(added!.jobs).toBeGreaterThan(500);
    // A second start adds nothing.
    expect(await addDemoData(test_.db)).toBeNull();

    const [courses] = await test_.db.query<{ demo: number; chapters_per_demo_course: number }>(
      `select count(*) filter (where is_demo) as demo,
              (select min(n) from (select count(*) as n from public.chapters ch join public.courses c on c.id = ch.course_id
                                   where c.is_demo group by c.id) per) as chapters_per_demo_course
       from public.courses`,
    );
    expect(courses.demo).toBeGreaterThanOrEqual(4);
    expect(courses.chapters_per_demo_course).toBeGreaterThanOrEqual(20);

    const statuses = await test_.db.query<{ status: string; n: number; days: number }>(
      `select status, count(*) as n, count(distinct (finished_at at time zone 'utc')::date) as days
       from public.chapter_content_jobs where is_demo group by status order by status`,
    );
    expect(statuses.map((row) => row.status)).toEqual(['cancelled', 'failed', 'succeeded']);
    expect(statuses.find((row) => row.status === 'succeeded')!.days).toBe(DEMO_DAYS - 1);
    const [batches] = await test_.db.query<{ n: number; jobs: number }>(
      `select count(*) as n, sum((select count(*) from public.chapter_content_jobs j where j.batch_id = b.id)) as jobs
       from public.batches b where b.is_demo`,
    );
    expect(batches.n).toBeGreaterThanOrEqual(2);

    // Costs are priced from app/domain/prices.ts.
    const [sample] = await test_.db.query<{
      model: string;
      created_at: Date;
      input_tokens: number;
      output_tokens: number;
      cache_write_5m_tokens: number;
      cache_read_tokens: number;
      cost_input_micros: number;
      cost_output_micros: number;
      cost_cache_read_micros: number;
    }>(
      `select * from public.chapter_content_jobs where is_demo and status = 'succeeded' and model = 'claude-opus-5-5' limit 1`,
    );
    const expected = tokenCostMicros(
      DEFAULT_PRICES,
      sample.model,
      {
        inputTokens: sample.input_tokens,
        outputTokens: sample.output_tokens,
        cacheWrite5mTokens: sample.cache_write_5m_tokens,
        cacheWrite1hTokens: 0,
        cacheReadTokens: sample.cache_read_tokens,
      },
      sample.created_at,
    );
    expect([sample.cost_input_micros, sample.cost_output_micros, sample.cost_cache_read_micros]).toEqual([
      expected.input,
      expected.output,
      expected.cacheRead,
    ]);
    // Queue wait and end to end of the timelines are plausible (no retried-job inflation).
    const [{ bad }] = await test_.db.query<{ bad: number }>(
      `select count(*) as bad from public.chapter_content_jobs
       where is_demo and (finished_at < created_at or started_at < created_at or first_token_at < started_at)`,
    );
    expect(bad).toBe(0);

    const costs = await presentCosts(test_.db, month());
    expect(costs.unit).toBe('day');
    expect(costs.demo).toBe(true);
    expect(costs.jobsFinished).toBe(added!.jobs);
    expect(costs.totalMicros).toBeGreaterThan(0);
    expect(costs.points.filter((point) => point.attempts > 0)).toHaveLength(DEMO_DAYS - 1);
    // Four routing versions, two on one day: three markers.
    expect(costs.markers.map((marker) => marker.label)).toEqual(['v1', 'v2', 'v3–v4 (2)']);
    const latency = await presentLatency(test_.db, month());
    expect(latency.points.filter((point) => typeof point.cloudP95 === 'number').length).toBeGreaterThan(20);
    expect((await presentOverview(test_.db)).jobsByStatus.succeeded).toBeGreaterThan(0);
  });

  it('is added on the embedded default only, never when a real database or admin is configured', async () => {
    await seededChapterIds(test_.db);
    for (const configured of [
      { DATABASE_URL: 'postgres://app@db.example.com:5432/switchyard' },
      { ADMIN_EMAIL: 'admin@example.com', ADMIN_PASSWORD: 'a long enough password' },
    ]) {
      expect(await addDemoDataOnFirstStart(test_.db, parseEnv({ NODE_ENV: 'test', ...configured }), true)).toBeNull();
    }
    // Not on a restart either.
    expect(await addDemoDataOnFirstStart(test_.db, parseEnv({ NODE_ENV: 'test' }), false)).toBeNull();
    const [{ n }] = await test_.db.query<{ n: number }>(
      'select count(*) as n from public.chapter_content_jobs where is_demo',
    );
    expect(n).toBe(0);
    expect(await addDemoDataOnFirstStart(test_.db, parseEnv({ NODE_ENV: 'test' }), true)).not.toBeNull();
  });

  it('removes only the demo history: real jobs, batches and courses stay', async () => {
    const [realChapter] = await seededChapterIds(test_.db);
    await addDemoData(test_.db);
    const [demoChapter, unusedDemoChapter] = await test_.db
      .query<{ id: string; course_id: string }>(
        `select ch.id, ch.course_id from public.chapters ch join public.courses c on c.id = ch.course_id
       where c.slug in ('demo-web-security', 'demo-ml-ops') order by c.slug desc, ch.position limit 51`,
      )
      .then((rows) => [rows[0], rows[50]]);
    // Someone tried a real generation of a demo chapter, and of a seed chapter.
    const real: string[] = [];
    for (const chapter of [realChapter, demoChapter.id]) {
      const { jobId } = await submitJob(test_.db, newJob(chapter));
      real.push(jobId);
    }
    for (const job of await claimJobs(test_.db, 'w', 30, 2)) {
      await completeJob(test_.db, job.id, 'w', {
        content: '# Real',
        stopReason: 'end_turn',
        usage: {
          generator: 'offline',
          inputTokens: 1,
          outputTokens: 1,
          cacheWrite5mTokens: 0,
          cacheWrite1hTokens: 0,
          cacheReadTokens: 0,
          busyMs: 1,
          costMicros: { input: 5 },
        },
      });
    }

    const removed = await removeDemoData(test_.db);
    expect(removed.jobs).toBeGreaterThan(500);
    expect(removed.versions).toBe(4);

    const [left] = await test_.db.query<{
      demo_jobs: number;
      real_jobs: number;
      demo_batches: number;
      versions: number;
    }>(
      `select (select count(*) from public.chapter_content_jobs where is_demo) as demo_jobs,
              (select count(*) from public.chapter_content_jobs where not is_demo) as real_jobs,
              (select count(*) from public.batches where is_demo) as demo_batches,
              (select count(*) from public.control_config_versions) as versions`,
    );
    expect(left).toEqual({ demo_jobs: 0, real_jobs: 2, demo_batches: 0, versions: 0 });
    const ids = (await test_.db.query<{ id: string }>('select id from public.chapter_content_jobs')).map((r) => r.id);
    expect(ids.sort()).toEqual([...real].sort());
    // The demo course someone generated with stays; the untouched ones go.
    const courses = await test_.db.query<{ slug: string }>(
      'select slug from public.courses where is_demo order by slug',
    );
    expect(courses.map((row) => row.slug)).toEqual(['demo-web-security']);
    expect(unusedDemoChapter.course_id).not.toBe(demoChapter.course_id);

    const costs = await presentCosts(test_.db, month());
    expect(costs.demo).toBe(false);
    expect(costs.jobsFinished).toBe(2);
    expect(costs.totalMicros).toBe(10);
    expect(costs.markers).toEqual([]);
  });
});
