import { randomUUID } from 'node:crypto';

import type { Database } from '../../app/server/db/port.server';

/**
 * Learner progress and generation spend whose Learning figures for 2026-11-01..02 are worked
 * out by hand (test/integration/learning-analytics.test.ts states them): a funnel of three
 * learners over the first two chapters of intro-to-typescript, one earlier starter who completes
 * in range, one learner outside the range, and the spend of those chapters' jobs. Needs the seed.
 */
export async function insertLearningFixture(db: Database) {
  const rows = await db.query<{ id: string; course_id: string }>(
    `select ch.id, ch.course_id from public.chapters ch join public.courses c on c.id = ch.course_id
     where c.slug = 'intro-to-typescript' order by ch.position limit 2`,
  );
  const [ch1, ch2] = rows.map((row) => row.id);
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
    await db.query(
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
    await db.query(
      `insert into public.chapter_content_jobs (chapter_id, status, created_by, model, max_tokens, created_at, finished_at, cost_output_micros, cost_total_micros)
       values ($1, 'succeeded', 'test', 'claude-haiku-5-5', 1000, $2, $2, $3, $3)`,
      [chapter, finished, cost],
    );
  }
  return { ch1, ch2, courseId: rows[0].course_id };
}
