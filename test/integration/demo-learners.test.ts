import { randomUUID } from 'node:crypto';

import { addDemoData, removeDemoData } from '../../app/server/db/demo.server';
import { DEMO_LEARNERS } from '../../app/server/db/demo-learners.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { seededChapterIds } from '../support/fixtures';

/** `npm start`'s demo learners: enough plausible progress for the learning figures, and removable. */
describe.each(databaseTargets())('demo learners on $name', (target) => {
  let test_: TestDatabase;

  beforeAll(async () => {
    test_ = await target.create();
  });
  afterAll(() => test_.drop());

  it('adds a few hundred learners whose readers thin out chapter by chapter, and removes only them', async () => {
    const [realChapter] = await seededChapterIds(test_.db);
    const added = await addDemoData(test_.db);
    expect(added!.learners).toBe(DEMO_LEARNERS);

    const funnel = await test_.db.query<{ position: number; readers: number; completed: number }>(
      `select ch.position, count(*)::int as readers, count(p.completed_at)::int as completed
       from public.learner_progress p join public.chapters ch on ch.id = p.chapter_id
       where p.is_demo and ch.position <= 5 group by ch.position order by ch.position`,
    );
    expect(funnel).toHaveLength(5);
    expect(funnel[0].readers).toBeGreaterThan(DEMO_LEARNERS);
    for (let i = 1; i < funnel.length; i += 1) expect(funnel[i].readers).toBeLessThan(funnel[i - 1].readers);
    const [shape] = await test_.db.query<{ bad: number; cached: number }>(
      `select count(*) filter (where (completed_at is not null) <> (percent = 100)
                                   or completed_at < started_at or completed_at > now())::int as bad,
              (select count(*)::int from public.cache_invalidations) as cached
       from public.learner_progress`,
    );
    expect(shape).toEqual({ bad: 0, cached: 0 });

    const real = randomUUID();
    await test_.db.query(`select * from public.record_learner_progress($1, $2, 'real-1', 0, 50, 60, false)`, [
      real,
      realChapter,
    ]);
    await removeDemoData(test_.db);
    const [left] = await test_.db.query<{ profiles: number; progress: number }>(
      `select (select count(*)::int from public.learner_profiles) as profiles,
              (select count(*)::int from public.learner_progress) as progress`,
    );
    expect(left).toEqual({ profiles: 0, progress: 1 });
  });
});
