import { randomUUID } from 'node:crypto';

import { learningCsv, presentLearning } from '../../app/server/presenters/learning.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { seededChapterIds } from '../support/fixtures';
import { createTestApp } from '../support/remix-app';

/**
 * The Learning figures against numbers worked out by hand: a funnel of three learners over two
 * chapters, one earlier starter who completes in range, one learner outside the range, and the
 * generation spend of the course's chapters.
 */
describe.each(databaseTargets())('learning analytics on $name', (target) => {
  let test_: TestDatabase;
  let ch1: string;
  let ch2: string;
  let courseId: string;

  beforeAll(async () => {
    test_ = await target.create();
    await seededChapterIds(test_.db);
    const rows = await test_.db.query<{ id: string; course_id: string }>(
      `select ch.id, ch.course_id from public.chapters ch join public.courses c on c.id = ch.course_id
       where c.slug = 'intro-to-typescript' order by ch.position limit 2`,
    );
    [ch1, ch2] = rows.map((row) => row.id);
    courseId = rows[0].course_id;
    const [l1, l2, l3, l4, l5] = Array.from({ length: 5 }, () => randomUUID());
    const progress: [string, string, string, string | null][] = [
      [l1, ch1, '2026-11-01T10:00Z', '2026-11-01T11:00Z'], // 60 min
      [l1, ch2, '2026-11-01T11:00Z', '2026-11-01T14:00Z'], // 180 min
      [l2, ch1, '2026-11-01T12:00Z', '2026-11-01T14:00Z'], // 120 min
      [l2, ch2, '2026-11-02T09:00Z', null],
      [l3, ch1, '2026-11-02T08:00Z', null],
      [l4, ch1, '2026-10-31T21:00Z', '2026-11-01T09:00Z'], // started before, completed in range: 720 min
      [l5, ch1, '2026-11-05T08:00Z', '2026-11-05T09:00Z'], // outside
    ];
    for (const [learner, chapter, started, completed] of progress) {
      await test_.db.query(
        `insert into public.learner_progress (learner_id, chapter_id, percent, started_at, completed_at, time_spent_seconds)
         values ($1, $2, case when $4::timestamptz is null then 50 else 100 end, $3, $4, 600)`,
        [learner, chapter, started, completed],
      );
    }
    for (const [chapter, finished, cost] of [
      [ch1, '2026-11-01T08:00Z', 1_200_000],
      [ch2, '2026-11-02T08:00Z', 800_000],
      [ch1, '2026-11-05T08:00Z', 5_000_000], // outside
    ] as const) {
      await test_.db.query(
        `insert into public.chapter_content_jobs (chapter_id, status, created_by, model, max_tokens, created_at, finished_at, cost_output_micros, cost_total_micros)
         values ($1, 'succeeded', 'test', 'claude-haiku-5-5', 1000, $2, $2, $3, $3)`,
        [chapter, finished, cost],
      );
    }
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
});
