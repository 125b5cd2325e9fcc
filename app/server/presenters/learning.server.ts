import type { JobStatus } from '~/domain/job-status';

import type { Queryable } from '../db/port.server';
import { computeLearningAnalytics, type LearningView } from '../learning-analytics.server';
import { STREAMED_TEXT_SQL } from '../streamed-text.server';
import type { DayRange } from './analytics.server';

export interface LearningComputation {
  jobId: string;
  status: JobStatus;
  /** The steps streamed so far, while it runs. */
  progressText: string | null;
  error: string | null;
  computedAt: string | null;
}

/**
 * The Learning page and its CSV: the latest analytics job queued for exactly this range, and its
 * stored result when it has one (what finance queued); without one, the figures computed now
 * (the same SQL: learning-analytics.server.ts).
 */
export async function presentLearning(db: Queryable, range: DayRange) {
  const [latest] = await db.query<{
    id: string;
    status: JobStatus;
    streamed_text: string | null;
    error_message: string | null;
    computed_at: Date | null;
    result: LearningView | null;
  }>(
    `select j.id, j.status, ${STREAMED_TEXT_SQL} as streamed_text, j.error_message, r.computed_at, r.result
     from public.chapter_content_jobs j
     left join public.learning_analytics_results r on r.job_id = j.id
     where j.kind = 'analytics' and j.payload = jsonb_build_object('from', $1::text, 'to', $2::text)
     order by j.created_at desc, j.id desc
     limit 1`,
    [range.from, range.to],
  );
  const computation: LearningComputation | null = latest
    ? {
        jobId: latest.id,
        status: latest.status,
        progressText: latest.streamed_text,
        error: latest.error_message,
        computedAt: latest.computed_at ? new Date(latest.computed_at).toISOString() : null,
      }
    : null;
  const view = latest?.result ?? (await computeLearningAnalytics(db, range));
  return { ...view, range, computation };
}
