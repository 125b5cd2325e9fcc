import { random } from './demo.server';
import type { Queryable } from './port.server';

/** The first demo learner: `npm start` prints a token for it. */
export const DEMO_LEARNER_ID = '00000000-0000-4000-8000-000000000001';

/** How many made-up learners the demo history has. */
export const DEMO_LEARNERS = 300;

/**
 * Demo learners for the analytics: each reads one or two demo courses from its first chapter
 * on, over the demo month, and drops off along the way (fewer readers per chapter, as real
 * funnels go); the last chapter read is partly done. Rows are flagged `is_demo`. Learner ids
 * are fixed (`…-4000-8000-` + index) so a second run is a no-op.
 */
export async function addDemoLearners(tx: Queryable, now: Date): Promise<number> {
  const courses = await tx.query<{ course_id: string; chapter_ids: string[] }>(
    `select c.id as course_id, array_agg(ch.id order by ch.position) as chapter_ids
     from public.courses c join public.chapters ch on ch.course_id = c.id
     where c.is_demo group by c.id order by c.slug`,
  );
  if (courses.length === 0) return 0;
  const next = random(20261130);
  const names = [
    'Ada',
    'Grace',
    'Alan',
    'Edsger',
    'Barbara',
    'Donald',
    'Frances',
    'Ken',
    'Radia',
    'Tim',
    'Hedy',
    'Linus',
  ];
  const profiles: { learner_id: string; display_name: string; locale: string; preferences: object }[] = [];
  const progress: {
    learner_id: string;
    chapter_id: string;
    percent: number;
    started_at: string;
    completed_at: string | null;
    time_spent_seconds: number;
  }[] = [];
  const month = 30 * 86_400_000;
  for (let i = 0; i < DEMO_LEARNERS; i += 1) {
    const learnerId = `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`;
    profiles.push({
      learner_id: learnerId,
      display_name: `${names[i % names.length]} (demo learner ${i + 1})`,
      locale: ['en', 'en', 'en', 'pt-BR', 'de', 'fr'][Math.floor(next() * 6)],
      preferences: {
        reading_pace: ['slow', 'normal', 'normal', 'fast'][Math.floor(next() * 4)],
        theme: ['system', 'light', 'dark'][Math.floor(next() * 3)],
      },
    });
    const courseCount = next() < 0.3 ? 2 : 1;
    const first = Math.floor(next() * courses.length);
    for (let k = 0; k < courseCount; k += 1) {
      const { chapter_ids: chapters } = courses[(first + k) % courses.length];
      let at = now.getTime() - month + next() * month * 0.8;
      // Keen learners keep going; most fall away after a few chapters.
      const keep = 0.72 + next() * 0.25;
      for (const chapterId of chapters) {
        const seconds = Math.round(300 + next() * 1500);
        const startedAt = at;
        at += seconds * 1000 + next() * 2 * 86_400_000;
        const finishes = next() < keep && at < now.getTime();
        progress.push({
          learner_id: learnerId,
          chapter_id: chapterId,
          percent: finishes ? 100 : Math.round(10 + next() * 80),
          started_at: new Date(startedAt).toISOString(),
          completed_at: finishes ? new Date(at).toISOString() : null,
          time_spent_seconds: finishes ? seconds : Math.round(seconds * 0.4),
        });
        if (!finishes) break;
      }
    }
  }
  // The demo's profiles were never served, so nothing is cached to invalidate.
  await tx.query('alter table public.learner_profiles disable trigger learner_profiles_invalidate_cache');
  await tx.query(
    `insert into public.learner_profiles (learner_id, display_name, locale, preferences, is_demo, updated_at)
     select learner_id, display_name, locale, preferences, true, now()
     from jsonb_to_recordset($1::jsonb) as p (learner_id uuid, display_name text, locale text, preferences jsonb)
     on conflict (learner_id) do nothing`,
    [JSON.stringify(profiles)],
  );
  await tx.query('alter table public.learner_profiles enable trigger learner_profiles_invalidate_cache');
  await tx.query(
    `insert into public.learner_progress
       (learner_id, chapter_id, percent, started_at, completed_at, time_spent_seconds, is_demo, updated_at)
     select learner_id, chapter_id, percent, started_at, completed_at, time_spent_seconds, true,
            coalesce(completed_at, started_at)
     from jsonb_to_recordset($1::jsonb) as p (learner_id uuid, chapter_id uuid, percent numeric,
       started_at timestamptz, completed_at timestamptz, time_spent_seconds integer)
     on conflict (learner_id, chapter_id) do nothing`,
    [JSON.stringify(progress)],
  );
  return profiles.length;
}

export async function removeDemoLearners(tx: Queryable): Promise<void> {
  await tx.query('delete from public.learner_progress where is_demo');
  await tx.query('delete from public.learner_profiles where is_demo');
}
