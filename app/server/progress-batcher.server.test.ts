import { randomUUID } from 'node:crypto';

import type { ProgressUpdate } from '~/domain/learner-schemas';

import { PROGRESS_BATCH_MAX, recordProgressBatched } from './progress-batcher.server';
import { databaseTargets, type TestDatabase } from '../../test/support/databases';
import { seededChapterIds, watchingQueries } from '../../test/support/fixtures';

const update = (chapterId: string, overrides: Partial<ProgressUpdate> = {}): ProgressUpdate => ({
  client_event_id: randomUUID(),
  chapter_id: chapterId,
  chapter_version: 0,
  percent: 10,
  time_spent_seconds: 5,
  reset: false,
  ...overrides,
});

describe.each(databaseTargets())('micro-batched progress updates on $name', (target) => {
  let test_: TestDatabase;
  let chapters: string[];

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
  });
  afterEach(async () => {
    await test_.drop();
  });

  /**
   * The transaction that wrote each learner's events, told by applied_at: now(), the
   * transaction's start to the microsecond. (Not xmin: each update is written in a subtransaction.)
   */
  async function transactionsOf(learners: string[]) {
    const rows = await test_.db.query<{ learner_id: string; tx: string }>(
      `select learner_id, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS.US') as tx
       from public.learner_progress_events where learner_id = any($1::uuid[])`,
      [learners],
    );
    return new Map(rows.map((row) => [row.learner_id, row.tx]));
  }

  it('shares one transaction among different learners, each answered with their own committed progress', async () => {
    const batchCalls: string[] = [];
    const db = watchingQueries(test_.db, (sql) => {
      if (sql.includes('record_learner_progress')) batchCalls.push(sql);
    });
    const learners = Array.from({ length: 10 }, () => randomUUID());
    const seenCommitted: boolean[] = [];
    const outcomes = await Promise.all(
      learners.map(async (learner, i) => {
        const outcome = await recordProgressBatched(
          db,
          learner,
          update(chapters[i % chapters.length], { percent: i * 10 }),
        );
        // Asked at once, on the pool: the row is there, so an answer sent now is not a promise broken.
        seenCommitted.push((await transactionsOf([learner])).has(learner));
        return outcome;
      }),
    );
    expect(seenCommitted).toEqual(Array(10).fill(true));
    outcomes.forEach((outcome, i) => {
      expect(outcome).toMatchObject({
        kind: 'applied',
        progress: { chapterId: chapters[i % chapters.length], percent: i * 10, timeSpentSeconds: 5 },
      });
    });
    expect(batchCalls).toEqual(['select * from public.record_learner_progress_many($1)']);
    expect(new Set((await transactionsOf(learners)).values()).size).toBe(1);
  });

  it('gives each update its own outcome: a refused or failing one does not fail the others', async () => {
    const { db } = test_;
    const [learner, other, staffLearner] = [randomUUID(), randomUUID(), randomUUID()];
    await db.query(
      `insert into public.staff (email, display_name, role, auth_user_id) values ('batch-staff@example.com', 'S', 'ops', $1)`,
      [staffLearner],
    );
    const results = await Promise.allSettled([
      recordProgressBatched(db, learner, update(chapters[0], { percent: 40 })),
      recordProgressBatched(db, learner, update(randomUUID())),
      recordProgressBatched(db, other, update(chapters[1], { chapter_version: 99 })),
      recordProgressBatched(db, staffLearner, update(chapters[2])),
      // Past the table's check (the API's schema never lets it through): it raises, alone.
      recordProgressBatched(db, other, update(chapters[3], { percent: 150 })),
      recordProgressBatched(db, other, update(chapters[4], { percent: 100 })),
    ]);
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    const values = results.map((result) => (result.status === 'fulfilled' ? result.value : result.reason));
    expect(values[0]).toMatchObject({ kind: 'applied', progress: { percent: 40 } });
    expect(values[1]).toEqual({ kind: 'unknown_chapter' });
    expect(values[2]).toEqual({ kind: 'unknown_version', currentVersion: 0 });
    expect(values[3]).toEqual({ kind: 'staff_account' });
    expect(values[4]).toMatchObject({ code: '23514' });
    expect(values[5]).toMatchObject({ kind: 'applied', progress: { percent: 100 } });
    const rows = await db.query<{ learner_id: string; chapter_id: string; percent: number }>(
      'select learner_id, chapter_id, percent from public.learner_progress order by percent',
    );
    expect(rows).toEqual([
      { learner_id: learner, chapter_id: chapters[0], percent: 40 },
      { learner_id: other, chapter_id: chapters[4], percent: 100 },
    ]);
  });

  it('replays an event repeated inside one batch, keeps arrival order and never goes backwards', async () => {
    const { db } = test_;
    const learner = randomUUID();
    const first = update(chapters[0], { client_event_id: 'e1', percent: 60 });
    const outcomes = await Promise.all([
      recordProgressBatched(db, learner, first),
      recordProgressBatched(db, learner, first),
      recordProgressBatched(db, learner, { ...first, percent: 70 }),
      recordProgressBatched(db, learner, update(chapters[0], { client_event_id: 'e2', percent: 30 })),
      recordProgressBatched(db, learner, update(chapters[0], { client_event_id: 'e3', percent: 20, reset: true })),
    ]);
    expect(outcomes.map((outcome) => outcome.kind)).toEqual([
      'applied',
      'replayed',
      'event_reused',
      'applied',
      'applied',
    ]);
    expect(outcomes[1]).toMatchObject({ progress: { percent: 60, timeSpentSeconds: 5 } });
    expect(outcomes[3]).toMatchObject({ progress: { percent: 60, timeSpentSeconds: 10 } });
    expect(outcomes[4]).toMatchObject({ progress: { percent: 20, timeSpentSeconds: 15 } });
    expect((await transactionsOf([learner])).size).toBe(1);
    const [events] = await db.query<{ n: number; txs: number }>(
      `select count(*)::int as n, count(distinct applied_at)::int as txs
       from public.learner_progress_events where learner_id = $1`,
      [learner],
    );
    expect(events).toEqual({ n: 3, txs: 1 });
  });

  it(`splits a burst larger than ${PROGRESS_BATCH_MAX} into transactions of at most ${PROGRESS_BATCH_MAX}`, async () => {
    const sizes: number[] = [];
    const db = watchingQueries(test_.db, (sql, params) => {
      if (sql.includes('record_learner_progress_many')) sizes.push((JSON.parse(params![0] as string) as []).length);
    });
    const learners = Array.from({ length: PROGRESS_BATCH_MAX * 2 + 5 }, () => randomUUID());
    const outcomes = await Promise.all(
      learners.map((learner, i) => recordProgressBatched(db, learner, update(chapters[i % chapters.length]))),
    );
    expect(outcomes.every((outcome) => outcome.kind === 'applied')).toBe(true);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(PROGRESS_BATCH_MAX);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(learners.length);
    const [count] = await test_.db.query<{ n: number }>('select count(*)::int as n from public.learner_progress');
    expect(count.n).toBe(learners.length);
  });
});
