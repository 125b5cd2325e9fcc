import { learningCsv } from '../../app/server/learning-analytics.server';
import { presentLearning } from '../../app/server/presenters/learning.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { seededChapterIds } from '../support/fixtures';
import { insertLearningFixture } from '../support/learning-fixture';
import { createOfflineGenerator } from '../../app/server/generators/offline.server';
import { silentLogger } from '../../app/server/log.server';
import { JobRunner } from '../../worker/job-runner';
import { createTestApp } from '../support/remix-app';

/**
 * The Learning figures against numbers worked out by hand (the data: insertLearningFixture): a
 * funnel of three learners over two chapters, one earlier starter who completes in range, one
 * learner outside the range, and the generation spend of the course's chapters.
 */
describe.each(databaseTargets())('learning analytics on $name', (target) => {
  let test_: TestDatabase;
  let courseId: string;

  beforeAll(async () => {
    test_ = await target.create();
    await seededChapterIds(test_.db);
    ({ courseId } = await insertLearningFixture(test_.db));
  });
  afterAll(() => test_.drop());

  it('computes the funnel, time-to-complete percentiles and cost per completed chapter', async () => {
    const view = await presentLearning(test_.db, { from: '2026-11-01', to: '2026-11-02' });
    expect(view.chapters.map((c) => [c.position, c.started, c.completed, c.p50Minutes, c.p90Minutes])).toEqual([
      [1, 3, 2, 90, 114],
      [2, 2, 1, 180, 180],
    ]);
    expect(view.courses).toEqual([
      {
        courseId,
        courseTitle: expect.any(String),
        learners: 4,
        started: 5,
        completed: 3,
        completionsInRange: 4,
        p50Minutes: 150,
        p90Minutes: 558,
        generationCostMicros: 2_000_000,
        costPerCompletedChapterMicros: 500_000,
      },
    ]);
    const csv = learningCsv(view).split('\n');
    expect(csv[0]).toMatch(/^level,course,chapter_position/);
    expect(csv[1]).toMatch(/^course,.*,4,5,3,4,150,558,2\.000000,0\.500000$/);
  });

  it('shows the figures to finance on the Learning page and as CSV, and not to content managers', async () => {
    const app = await createTestApp(test_.db);
    const finance = await app.staffSession('finance');
    const page = await app.request('/learning?from=2026-11-01&to=2026-11-02', { cookie: finance.cookie });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Cost per completed chapter');
    expect(html).toContain('$0.50');
    const csv = await app.request('/learning/csv?from=2026-11-01&to=2026-11-02', { cookie: finance.cookie });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect(await csv.text()).toContain('0.500000');
    const manager = await app.staffSession('content_manager');
    expect((await app.request('/learning', { cookie: manager.cookie })).status).toBe(403);
  });

  it('lets finance queue the computation from the page, then shows its status and stored result', async () => {
    const app = await createTestApp(test_.db);
    const finance = await app.staffSession('finance', 'finance-compute@example.com');
    const page = '/learning?from=2026-11-01&to=2026-11-02';
    expect(await (await app.request(page, { cookie: finance.cookie })).text()).toContain('No computation queued');
    const queued = await app.request(page, {
      method: 'POST',
      cookie: finance.cookie,
      body: app.form({ from: '2026-11-01', to: '2026-11-02' }),
    });
    expect(queued.status).toBe(200);
    expect(await queued.text()).toContain('Computation queued');
    expect(await (await app.request(page, { cookie: finance.cookie })).text()).toMatch(/Analytics job.*pending/s);

    const runner = new JobRunner({
      db: test_.db,
      generator: createOfflineGenerator({ delayMs: 0 }),
      log: silentLogger,
    });
    expect(await runner.wake()).toBe(1);
    // The stored result is what the page and the CSV show: change the data, the figures stay.
    await test_.db.query(`update public.learner_progress set completed_at = null`);
    const html = await (await app.request(page, { cookie: finance.cookie })).text();
    expect(html).toMatch(/Analytics job.*succeeded.* computed \d{4}-\d{2}-\d{2}/s);
    expect(html).toContain('$0.50');
    const csv = await (
      await app.request('/learning/csv?from=2026-11-01&to=2026-11-02', { cookie: finance.cookie })
    ).text();
    expect(csv.split('\n')[1]).toMatch(/,4,5,3,4,150,558,2\.000000,0\.500000$/);

    const manager = await app.staffSession('content_manager', 'cm-compute@example.com');
    const refused = await app.request(page, {
      method: 'POST',
      cookie: manager.cookie,
      body: app.form({ from: '2026-11-01', to: '2026-11-02' }),
    });
    expect(refused.status).toBe(403);
  });
});
