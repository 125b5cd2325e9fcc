import type { JobFilters } from '~/domain/job-filters';
import { decodeCursor, encodeCursor } from '~/domain/job-filters';
import type { JobKind } from '~/domain/job-kinds';
import type { Destination, JobStatus } from '~/domain/job-status';

import type { Queryable } from '../db/port.server';

export interface JobListItem {
  id: string;
  kind: JobKind;
  status: JobStatus;
  /** Null for an analytics job, whose title names its range instead. */
  chapterId: string | null;
  chapterTitle: string;
  courseTitle: string | null;
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
  cancelRequested: boolean;
  routeRuleId: string | null;
  configVersion: number | null;
}

export interface JobListPage {
  jobs: JobListItem[];
  /** Cursor for the next (older) page, or null on the last page. */
  nextCursor: string | null;
  /** Cursor for the previous (newer) page, or null on the first page. */
  prevCursor: string | null;
}

export const PAGE_SIZE = 50;

/**
 * The newest jobs matching the filters, of every kind, one keyset page at a time:
 * `(created_at, id) < cursor` walks the created_at (or status / batch / chapter / analytics)
 * index, so page 1,000 costs what page 1 does. A title search first finds the matching chapters
 * (a small table), then their jobs by index; an analytics job has no chapter and is titled by its
 * range, as on the Job page.
 */
export async function presentJobList(db: Queryable, filters: JobFilters = {}, limit = PAGE_SIZE): Promise<JobListPage> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filters.kind) add((p) => `j.kind = ${p}`, filters.kind);
  if (filters.status) add((p) => `j.status = ${p}`, filters.status);
  if (filters.destination) add((p) => `j.destination = ${p}`, filters.destination);
  if (filters.batch) add((p) => `j.batch_id = ${p}`, filters.batch);
  if (filters.model) add((p) => `j.model = ${p}`, filters.model);
  if (filters.rule) add((p) => `j.route_rule_id = ${p}`, filters.rule);
  if (filters.version !== undefined) add((p) => `j.config_version = ${p}`, filters.version);
  if (filters.from) add((p) => `j.created_at >= ${p}::date`, filters.from);
  if (filters.to) add((p) => `j.created_at < ${p}::date + 1`, filters.to);
  if (filters.q)
    add(
      (p) => `j.chapter_id in (select id from public.chapters where title ilike '%' || ${p} || '%')`,
      filters.q.replace(/[%_\\]/g, '\\$&'),
    );
  // Paging back (`before`) walks the same index the other way, then shows the rows newest first.
  const backwards = !filters.after && Boolean(filters.before);
  const cursorValue = filters.after ?? filters.before;
  if (cursorValue) {
    const cursor = decodeCursor(cursorValue);
    params.push(cursor.createdAt, cursor.id);
    where.push(
      `(j.created_at, j.id) ${backwards ? '>' : '<'} ($${params.length - 1}::timestamptz, $${params.length}::uuid)`,
    );
  }
  params.push(limit + 1);
  const rows = await db.query<{
    id: string;
    kind: JobKind;
    status: JobStatus;
    chapter_id: string | null;
    chapter_title: string;
    course_title: string | null;
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
    cancel_requested_at: Date | null;
    route_rule_id: string | null;
    config_version: number | null;
  }>(
    `select j.id, j.kind, j.status, j.chapter_id,
            coalesce(ch.title, 'Learning analytics, ' || (j.payload ->> 'from') || ' to ' || (j.payload ->> 'to'))
              as chapter_title,
            c.title as course_title, j.destination, j.model,
            j.generator, j.attempts, j.max_attempts, j.progress_output_tokens, j.max_tokens, j.cost_total_micros,
            j.created_at, j.batch_id, j.cancel_requested_at, j.route_rule_id, j.config_version
     from public.chapter_content_jobs j
     left join public.chapters ch on ch.id = j.chapter_id
     left join public.courses c on c.id = ch.course_id
     ${where.length ? `where ${where.join(' and ')}` : ''}
     order by j.created_at ${backwards ? 'asc' : 'desc'}, j.id ${backwards ? 'asc' : 'desc'}
     limit $${params.length}`,
    params,
  );
  const more = rows.length > limit;
  const page = backwards ? rows.slice(0, limit).reverse() : rows.slice(0, limit);
  const first = page[0];
  const last = page[page.length - 1];
  // Forwards, newer rows exist whenever a cursor was followed; backwards, older ones always do.
  const hasNewer = backwards ? more : Boolean(filters.after);
  const hasOlder = backwards ? Boolean(filters.before) : more;
  return {
    jobs: page.map((row) => ({
      id: row.id,
      kind: row.kind,
      status: row.status,
      chapterId: row.chapter_id,
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
      cancelRequested: row.cancel_requested_at !== null,
      routeRuleId: row.route_rule_id,
      configVersion: row.config_version,
    })),
    nextCursor: hasOlder && last ? encodeCursor(last.created_at, last.id) : null,
    prevCursor: hasNewer && first ? encodeCursor(first.created_at, first.id) : null,
  };
}

/** The config versions the version filter offers (models come from the price table). */
export async function presentJobFilterOptions(db: Queryable) {
  const versions = await db.query<{ version: number }>(
    'select version from public.control_config_versions order by version desc limit 50',
  );
  return { configVersions: versions.map((row) => row.version) };
}
