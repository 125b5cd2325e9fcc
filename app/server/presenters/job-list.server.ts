import type { Destination, JobStatus } from '~/domain/job-status';

import type { Queryable } from '../db/port.server';

export interface JobListItem {
  id: string;
  status: JobStatus;
  chapterTitle: string;
  courseTitle: string;
  destination: Destination;
  model: string;
  generator: string | null;
  attempts: number;
  maxAttempts: number;
  progressOutputTokens: number;
  maxTokens: number;
  costMicros: number;
  createdAt: Date;
  batchId: string | null;
}

/** The newest jobs first. */
export async function presentJobList(db: Queryable, limit = 50): Promise<JobListItem[]> {
  const rows = await db.query<{
    id: string;
    status: JobStatus;
    chapter_title: string;
    course_title: string;
    destination: Destination;
    model: string;
    generator: string | null;
    attempts: number;
    max_attempts: number;
    progress_output_tokens: number;
    max_tokens: number;
    cost_total_micros: number;
    created_at: Date;
    batch_id: string | null;
  }>(
    `select j.id, j.status, ch.title as chapter_title, c.title as course_title, j.destination, j.model,
            j.generator, j.attempts, j.max_attempts, j.progress_output_tokens, j.max_tokens,
            j.cost_total_micros, j.created_at, j.batch_id
     from public.chapter_content_jobs j
     join public.chapters ch on ch.id = j.chapter_id
     join public.courses c on c.id = ch.course_id
     order by j.created_at desc, j.id desc
     limit $1`,
    [limit],
  );
  return rows.map((row) => ({
    id: row.id,
    status: row.status,
    chapterTitle: row.chapter_title,
    courseTitle: row.course_title,
    destination: row.destination,
    model: row.model,
    generator: row.generator,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    progressOutputTokens: row.progress_output_tokens,
    maxTokens: row.max_tokens,
    costMicros: row.cost_total_micros,
    createdAt: row.created_at,
    batchId: row.batch_id,
  }));
}
