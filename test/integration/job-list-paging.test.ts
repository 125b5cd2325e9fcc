import { presentJobList } from '../../app/server/presenters/job-list.server';
import { submitAnalyticsJob, submitJob } from '../../app/server/queue.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { newJob, seededChapterIds } from '../support/fixtures';

describe.each(databaseTargets())('the Jobs list pages both ways on $name', (target) => {
  let test_: TestDatabase;
  let chapter: string;
  beforeAll(async () => {
    test_ = await target.create();
    [chapter] = await seededChapterIds(test_.db);
  });
  afterAll(() => test_.drop());

  it('walks older with `after` and back newer with `before`, newest first on every page', async () => {
    const ids: string[] = [];
    for (let minute = 1; minute <= 5; minute += 1) {
      const { jobId } = await submitJob(test_.db, newJob(chapter));
      await test_.db.query(`update public.chapter_content_jobs set created_at = $2 where id = $1`, [
        jobId,
        `2026-11-28T10:0${minute}:00Z`,
      ]);
      ids.unshift(jobId); // newest first
    }
    const idsOf = (page: { jobs: { id: string }[] }) => page.jobs.map((job) => job.id);

    const first = await presentJobList(test_.db, {}, 2);
    expect(idsOf(first)).toEqual(ids.slice(0, 2));
    expect(first.prevCursor).toBeNull();
    const second = await presentJobList(test_.db, { after: first.nextCursor! }, 2);
    expect(idsOf(second)).toEqual(ids.slice(2, 4));
    const third = await presentJobList(test_.db, { after: second.nextCursor! }, 2);
    expect(idsOf(third)).toEqual(ids.slice(4));
    expect(third.nextCursor).toBeNull();

    const backToSecond = await presentJobList(test_.db, { before: third.prevCursor! }, 2);
    expect(idsOf(backToSecond)).toEqual(ids.slice(2, 4));
    expect(backToSecond.nextCursor).toBe(second.nextCursor);
    const backToFirst = await presentJobList(test_.db, { before: backToSecond.prevCursor! }, 2);
    expect(idsOf(backToFirst)).toEqual(ids.slice(0, 2));
    expect(backToFirst.prevCursor).toBeNull();
  });

  it('lists analytics jobs beside generations, titled by their range, and filters by kind', async () => {
    const { jobId: analyticsId } = await submitAnalyticsJob(test_.db, {
      from: '2026-11-01',
      to: '2026-11-28',
      createdBy: 'finance@example.com',
      idempotencyKey: null,
    });
    const { jobId: generationId } = await submitJob(test_.db, newJob(chapter));

    const all = await presentJobList(test_.db, {}, 50);
    const analytics = all.jobs.find((job) => job.id === analyticsId);
    expect(analytics).toMatchObject({
      kind: 'analytics',
      chapterId: null,
      chapterTitle: 'Learning analytics, 2026-11-01 to 2026-11-28',
      courseTitle: null,
      status: 'pending',
    });
    expect(all.jobs.find((job) => job.id === generationId)).toMatchObject({ kind: 'generation', chapterId: chapter });

    const onlyAnalytics = await presentJobList(test_.db, { kind: 'analytics' }, 50);
    expect(onlyAnalytics.jobs.map((job) => job.id)).toEqual([analyticsId]);
    const onlyGenerations = await presentJobList(test_.db, { kind: 'generation' }, 50);
    expect(onlyGenerations.jobs.map((job) => job.id)).toContain(generationId);
    expect(onlyGenerations.jobs.every((job) => job.kind === 'generation')).toBe(true);
    // A chapter-title search finds chapters' jobs only.
    expect((await presentJobList(test_.db, { q: 'Learning analytics' }, 50)).jobs).toEqual([]);
  });
});
