import { LATENCY_BUCKET_BOUNDS_MS } from '../../app/domain/latency';
import { createAnthropicGenerator } from '../../app/server/generators/anthropic.server';
import { silentLogger } from '../../app/server/log.server';
import { submitJob } from '../../app/server/queue.server';
import { JobRunner } from '../../worker/job-runner';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-stand-in';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { newJob, seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

describe.each(databaseTargets())('costs and latency on $name', (target) => {
  let anthropic: AnthropicStandIn;
  let test_: TestDatabase;
  let app: TestApp;

  beforeAll(async () => {
    anthropic = await startAnthropicStandIn();
  });
  afterAll(() => anthropic.close());
  beforeEach(async () => {
    test_ = await target.create();
    app = await createTestApp(test_.db);
    const chapters = await seededChapterIds(test_.db);
    for (const [i, model] of [
      'claude-sonnet-5-5',
      'claude-haiku-5-5',
      'claude-sonnet-5-5',
      'claude-opus-5-5',
    ].entries()) {
      await submitJob(test_.db, newJob(chapters[i], { model }));
    }
    await new JobRunner({
      db: test_.db,
      generator: createAnthropicGenerator({ apiKey: 'k', baseURL: anthropic.url, maxRetries: 0 }),
      log: silentLogger,
    }).wake();
    // Two of them finished yesterday: they come from the materialised rollup, the rest live.
    await test_.db.query(
      `update public.chapter_content_jobs set finished_at = finished_at - interval '1 day', created_at = created_at - interval '1 day',
              started_at = started_at - interval '1 day', first_token_at = first_token_at - interval '1 day'
       where id in (select id from public.chapter_content_jobs order by id limit 2)`,
    );
    await test_.db.query(`select public.refresh_job_rollups(((now() at time zone 'utc')::date - 1))`);
  });
  afterEach(() => test_.drop());

  it('keeps the SQL and TypeScript latency buckets identical', async () => {
    const [{ bounds }] = await test_.db.query<{ bounds: number[] }>(
      'select public.latency_bucket_bounds_ms() as bounds',
    );
    expect(bounds).toEqual([...LATENCY_BUCKET_BOUNDS_MS]);
  });

  it('shows totals that equal the sum of the jobs, and CSVs of exactly the charted rows', async () => {
    const finance = await app.staffSession('finance');
    const [{ total }] = await test_.db.query<{ total: number }>(
      'select sum(cost_total_micros) as total from public.chapter_content_jobs',
    );
    expect(total).toBeGreaterThan(0);
    const data = (await (await app.request('/costs?_data=routes/costs', { cookie: finance.cookie })).json()) as {
      costs: any;
    };
    expect(data.costs.totalMicros).toBe(total);
    expect(
      data.costs.days.reduce(
        (sum: number, day: any) =>
          sum + day.input + day.output + day.cacheWrite + day.cacheRead + day.cloudRun + day.vercel,
        0,
      ),
    ).toBe(total);
    expect(data.costs.byModel.map((m: any) => m.model).sort()).toEqual([
      'claude-haiku-5-5',
      'claude-opus-5-5',
      'claude-sonnet-5-5',
    ]);

    const csv = await app.request(`/costs/csv?chart=daily&from=${data.costs.range.from}&to=${data.costs.range.to}`, {
      cookie: finance.cookie,
    });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toBe(
      'Day,Input tokens (USD),Output tokens (USD),Cache writes (USD),Cache reads (USD),Cloud Run compute (USD),Vercel functions (USD),Total (USD)',
    );
    expect(lines).toHaveLength(data.costs.days.length + 1);
    const csvTotal = lines.slice(1).reduce((sum, line) => sum + Math.round(Number(line.split(',')[7]) * 1_000_000), 0);
    expect(csvTotal).toBe(total);

    const cm = await app.staffSession('content_manager');
    expect((await app.request('/costs', { cookie: cm.cookie })).status).toBe(403);
    expect((await app.request('/costs/csv?chart=daily', { cookie: cm.cookie })).status).toBe(403);
  });

  it('draws latency percentiles per destination from the histograms', async () => {
    const finance = await app.staffSession('finance');
    const data = (await (await app.request('/latency?_data=routes/latency', { cookie: finance.cookie })).json()) as {
      latency: { days: any[] };
    };
    const withJobs = data.latency.days.filter((day) => day.finished > 0);
    expect(withJobs.length).toBe(2);
    for (const day of withJobs) {
      expect(day.cloudP50).toBeGreaterThan(0);
      expect(day.cloudP99).toBeGreaterThanOrEqual(day.cloudP50);
      expect(day.edgeP50).toBeNull();
      expect(day.failureRate).toBe(0);
    }
  });

  it('lets finance set this month’s budget and compares the projection to it', async () => {
    const finance = await app.staffSession('finance');
    const set = await app.request('/costs', {
      method: 'POST',
      cookie: finance.cookie,
      body: new URLSearchParams({ amount: '250' }),
    });
    expect(set.status).toBe(200);
    const data = (await (await app.request('/costs?_data=routes/costs', { cookie: finance.cookie })).json()) as {
      costs: any;
    };
    expect(data.costs.month.budgetMicros).toBe(250_000_000);
    expect(data.costs.month.projectedMicros).toBeGreaterThanOrEqual(data.costs.month.spentMicros);
    const ops = await app.staffSession('ops');
    expect(
      (await app.request('/costs', { method: 'POST', cookie: ops.cookie, body: new URLSearchParams({ amount: '1' }) }))
        .status,
    ).toBe(403);
  });
});
