import type { Queryable } from './db/port.server';
import type { DayRange } from './presenters/analytics.server';

export interface ChapterFunnelRow {
  courseId: string;
  courseTitle: string;
  chapterId: string;
  position: number;
  title: string;
  /** Learners who started this chapter in the range. */
  started: number;
  /** Of those, how many have completed it (by now). */
  completed: number;
  /** Time from start to completion of those completions, in minutes (null without any). */
  p50Minutes: number | null;
  p90Minutes: number | null;
}

export interface CourseLearningRow {
  courseId: string;
  courseTitle: string;
  learners: number;
  started: number;
  completed: number;
  /** Chapter completions whose completed_at falls in the range. */
  completionsInRange: number;
  p50Minutes: number | null;
  p90Minutes: number | null;
  /** Generation spend on this course's chapters, jobs finished in the range (micro-dollars). */
  generationCostMicros: number;
  /** generationCostMicros / completionsInRange; null without completions. */
  costPerCompletedChapterMicros: number | null;
}

const minutes = (value: number | string | null) => (value === null ? null : Math.round(Number(value) * 10) / 10);

/**
 * Learning outcomes joined to generation cost, for a range of whole UTC days: the completion
 * funnel per course and chapter, time-to-complete percentiles, and what generation cost per
 * chapter completed (the number finance asks for). Computed from learner_progress and the jobs'
 * cost totals. Shared by the Learning page (live figures) and the analytics job kind (a stored
 * result, app/server/analytics-job.server.ts). Analytics jobs have no chapter, so the inner join
 * with chapters leaves their own compute out of generation cost.
 */
export async function computeLearningAnalytics(db: Queryable, range: DayRange) {
  const bounds = [range.from, range.to];
  const chapterRows = await db.query<{
    course_id: string;
    course_title: string;
    chapter_id: string;
    position: number;
    title: string;
    started: number;
    completed: number;
    p50: number | null;
    p90: number | null;
  }>(
    `select c.id as course_id, c.title as course_title, ch.id as chapter_id, ch.position, ch.title,
            count(*)::int as started, count(p.completed_at)::int as completed,
            percentile_cont(0.5) within group (order by extract(epoch from p.completed_at - p.started_at) / 60)
              filter (where p.completed_at is not null) as p50,
            percentile_cont(0.9) within group (order by extract(epoch from p.completed_at - p.started_at) / 60)
              filter (where p.completed_at is not null) as p90
     from public.learner_progress p
     join public.chapters ch on ch.id = p.chapter_id
     join public.courses c on c.id = ch.course_id
     where p.started_at >= $1::date::timestamp at time zone 'utc'
       and p.started_at < ($2::date + 1)::timestamp at time zone 'utc'
     group by c.id, c.title, ch.id, ch.position, ch.title
     order by c.title, ch.position`,
    bounds,
  );
  const courseRows = await db.query<{
    course_id: string;
    course_title: string;
    learners: number;
    started: number;
    completed: number;
    completions_in_range: number;
    p50: number | null;
    p90: number | null;
    cost_micros: number;
  }>(
    `with bounds as (
       select $1::date::timestamp at time zone 'utc' as from_at, ($2::date + 1)::timestamp at time zone 'utc' as to_at
     ), progress as (
       select ch.course_id, p.*
       from public.learner_progress p join public.chapters ch on ch.id = p.chapter_id, bounds b
       where (p.started_at >= b.from_at and p.started_at < b.to_at)
          or (p.completed_at >= b.from_at and p.completed_at < b.to_at)
     ), learning as (
       select p.course_id,
              count(distinct p.learner_id)::int as learners,
              count(*) filter (where p.started_at >= b.from_at and p.started_at < b.to_at)::int as started,
              count(p.completed_at) filter (where p.started_at >= b.from_at and p.started_at < b.to_at)::int as completed,
              count(*) filter (where p.completed_at >= b.from_at and p.completed_at < b.to_at)::int as completions_in_range,
              percentile_cont(0.5) within group (order by extract(epoch from p.completed_at - p.started_at) / 60)
                filter (where p.completed_at >= b.from_at and p.completed_at < b.to_at) as p50,
              percentile_cont(0.9) within group (order by extract(epoch from p.completed_at - p.started_at) / 60)
                filter (where p.completed_at >= b.from_at and p.completed_at < b.to_at) as p90
       from progress p, bounds b
       group by p.course_id
     ), spend as (
       select ch.course_id, sum(j.cost_total_micros)::bigint as cost_micros
       from public.chapter_content_jobs j join public.chapters ch on ch.id = j.chapter_id, bounds b
       where j.finished_at >= b.from_at and j.finished_at < b.to_at
       group by ch.course_id
     )
     select c.id as course_id, c.title as course_title,
            coalesce(l.learners, 0) as learners, coalesce(l.started, 0) as started,
            coalesce(l.completed, 0) as completed, coalesce(l.completions_in_range, 0) as completions_in_range,
            l.p50, l.p90, coalesce(s.cost_micros, 0) as cost_micros
     from public.courses c
     left join learning l on l.course_id = c.id
     left join spend s on s.course_id = c.id
     where l.course_id is not null or s.course_id is not null
     order by c.title`,
    bounds,
  );
  const courses: CourseLearningRow[] = courseRows.map((row) => ({
    courseId: row.course_id,
    courseTitle: row.course_title,
    learners: row.learners,
    started: row.started,
    completed: row.completed,
    completionsInRange: row.completions_in_range,
    p50Minutes: minutes(row.p50),
    p90Minutes: minutes(row.p90),
    generationCostMicros: Number(row.cost_micros),
    costPerCompletedChapterMicros:
      row.completions_in_range > 0 ? Math.round(Number(row.cost_micros) / row.completions_in_range) : null,
  }));
  const chapters: ChapterFunnelRow[] = chapterRows.map((row) => ({
    courseId: row.course_id,
    courseTitle: row.course_title,
    chapterId: row.chapter_id,
    position: row.position,
    title: row.title,
    started: row.started,
    completed: row.completed,
    p50Minutes: minutes(row.p50),
    p90Minutes: minutes(row.p90),
  }));
  return { range, courses, chapters };
}

export type LearningView = Awaited<ReturnType<typeof computeLearningAnalytics>>;

/** The CSV finance exports: one line per course, then one per chapter of the funnel. */
export function learningCsv(view: LearningView): string {
  const cell = (value: string | number | null) => {
    const text = value === null ? '' : String(value);
    return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = [
    [
      'level',
      'course',
      'chapter_position',
      'chapter',
      'learners',
      'started',
      'completed',
      'completions_in_range',
      'p50_minutes_to_complete',
      'p90_minutes_to_complete',
      'generation_cost_usd',
      'cost_per_completed_chapter_usd',
    ],
    ...view.courses.map((course) => [
      'course',
      course.courseTitle,
      null,
      null,
      course.learners,
      course.started,
      course.completed,
      course.completionsInRange,
      course.p50Minutes,
      course.p90Minutes,
      (course.generationCostMicros / 1e6).toFixed(6),
      course.costPerCompletedChapterMicros === null ? null : (course.costPerCompletedChapterMicros / 1e6).toFixed(6),
    ]),
    ...view.chapters.map((chapter) => [
      'chapter',
      chapter.courseTitle,
      chapter.position,
      chapter.title,
      null,
      chapter.started,
      chapter.completed,
      null,
      chapter.p50Minutes,
      chapter.p90Minutes,
      null,
      null,
    ]),
  ];
  return lines.map((line) => line.map(cell).join(',')).join('\n') + '\n';
}
