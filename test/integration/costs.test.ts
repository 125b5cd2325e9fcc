import { LATENCY_BUCKET_BOUNDS_MS } from '../../app/domain/latency';
import { createAnthropicGenerator } from '../../app/server/generators/anthropic.server';
import { silentLogger } from '../../app/server/log.server';
import { submitJob } from '../../app/server/queue.server';
import { JobRunner } from '../../worker/job-runner';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-stand-in';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { newJob, seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

function monthRange() {
  const now = new Date();
  return {
    from: new Date(now.getTime() - 29 * 86_400_000).toISOString().slice(0, 10),
    to: now.toISOString().slice(0, 10),
  };
}

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
    await test_.db.query(
      `update public.job_attempts set started_at = started_at - interval '1 day', ended_at = ended_at - interval '1 day'
       where job_id in (select id from public.chapter_content_jobs order by id limit 2)`,
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
    const month = monthRange();
    const data = (await (
      await app.request(`/costs?from=${month.from}&to=${month.to}&_data=routes/costs`, { cookie: finance.cookie })
    ).json()) as {
      costs: any;
    };
    expect(data.costs.unit).toBe('day');
    expect(data.costs.totalMicros).toBe(total);
    expect(
      data.costs.points.reduce(
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
      'Day (UTC),Input tokens (USD),Output tokens (USD),Cache writes (USD),Cache reads (USD),Cloud Run compute (USD),Vercel functions (USD),Total (USD)',
    );
    expect(lines).toHaveLength(data.costs.points.length + 1);
    const csvTotal = lines.slice(1).reduce((sum, line) => sum + Math.round(Number(line.split(',')[7]) * 1_000_000), 0);
    expect(csvTotal).toBe(total);

    const cm = await app.staffSession('content_manager');
    expect((await app.request('/costs', { cookie: cm.cookie })).status).toBe(403);
    expect((await app.request('/costs/csv?chart=daily', { cookie: cm.cookie })).status).toBe(403);
  });

  it('draws latency percentiles per destination from the histograms', async () => {
    const finance = await app.staffSession('finance');
    const month = monthRange();
    const data = (await (
      await app.request(`/latency?from=${month.from}&to=${month.to}&_data=routes/latency`, { cookie: finance.cookie })
    ).json()) as {
      latency: { points: any[] };
    };
    const withJobs = data.latency.points.filter((day) => day.finished > 0);
    expect(withJobs.length).toBe(2);
    for (const day of withJobs) {
      expect(day.cloudP50).toBeGreaterThan(0);
      expect(day.cloudP99).toBeGreaterThanOrEqual(day.cloudP50);
      expect(day.edgeP50).toBeNull();
      expect(day.failureRate).toBe(0);
    }
  });

  it('opens on the last two days by the hour when that is all the history, with today live', async () => {
    const finance = await app.staffSession('finance');
    const data = (await (await app.request('/costs?_data=routes/costs', { cookie: finance.cookie })).json()) as {
      costs: any;
    };
    const today = new Date().toISOString().slice(0, 10);
    expect(data.costs.unit).toBe('hour');
    expect(data.costs.range.to).toBe(today);
    // One bucket per hour from yesterday 00:00 UTC up to the current hour.
    expect(data.costs.points[0].bucket).toBe(`${data.costs.range.from}T00:00Z`);
    expect(data.costs.points.at(-1).bucket).toBe(`${new Date().toISOString().slice(0, 13)}:00Z`);
    expect(data.costs.jobsFinished).toBe(4);
    const [{ total }] = await test_.db.query<{ total: number }>(
      'select sum(cost_total_micros) as total from public.chapter_content_jobs',
    );
    expect(data.costs.totalMicros).toBe(total);

    // A job finishing now shows in this hour's bucket at once, not after the nightly rollup.
    const chapters = await seededChapterIds(test_.db);
    await submitJob(test_.db, newJob(chapters[5], { model: 'claude-opus-5-5' }));
    await new JobRunner({
      db: test_.db,
      generator: createAnthropicGenerator({ apiKey: 'k', baseURL: anthropic.url, maxRetries: 0 }),
      log: silentLogger,
    }).wake();
    const again = (await (await app.request('/costs?_data=routes/costs', { cookie: finance.cookie })).json()) as {
      costs: any;
    };
    expect(again.costs.jobsFinished).toBe(5);
    expect(again.costs.points.reduce((sum: number, point: any) => sum + point.attempts, 0)).toBe(5);

    const csv = await (
      await app.request(`/costs/csv?chart=daily&from=${today}&to=${today}`, { cookie: finance.cookie })
    ).text();
    expect(csv.split('\n')[0]).toMatch(/^Hour \(UTC\),/);
    expect(csv).toContain(`${new Date().toISOString().slice(0, 13)}:00Z`);
  });

  it('counts offline jobs that cost nothing as jobs, and groups config markers of one bucket', async () => {
    await test_.db.query(`update public.chapter_content_jobs set
      cost_input_micros = 0, cost_output_micros = 0, cost_cache_write_micros = 0, cost_cache_read_micros = 0,
      cost_cloud_run_micros = 0, cost_vercel_micros = 0, cost_total_micros = 0, generator = 'offline'`);
    await test_.db.query(`update public.job_attempts set
      cost_input_micros = 0, cost_output_micros = 0, cost_cache_write_micros = 0, cost_cache_read_micros = 0,
      cost_cloud_run_micros = 0, cost_vercel_micros = 0, cost_total_micros = 0, generator = 'offline'`);
    for (const version of [1, 2, 3]) {
      await test_.db.query(
        `insert into public.control_config_versions (version, config, author, comment, published_at)
         values ($1, '{}', 'ops@example.com', $2, now())`,
        [version, `canary step ${version}`],
      );
    }
    const finance = await app.staffSession('finance');
    const today = new Date().toISOString().slice(0, 10);
    const data = (await (
      await app.request(`/costs?from=${today}&to=${today}&_data=routes/costs`, { cookie: finance.cookie })
    ).json()) as { costs: any };
    expect(data.costs.totalMicros).toBe(0);
    expect(data.costs.jobsFinished).toBe(2);
    expect(data.costs.markers).toHaveLength(1);
    expect(data.costs.markers[0]).toMatchObject({
      label: 'v1–v3 (3)',
      detail: 'v1: canary step 1; v2: canary step 2; v3: canary step 3',
    });
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
