import type { JobKind } from '~/domain/job-kinds';

import type { Queryable } from '../db/port.server';
import { STREAMED_TEXT_SQL } from '../streamed-text.server';

interface JobRecord {
  id: string;
  kind: JobKind;
  payload: unknown;
  status: string;
  /** Null for an analytics job. */
  chapter_id: string | null;
  chapter_title: string;
  chapter_version: number | null;
  batch_id: string | null;
  destination: string;
  route_rule_id: string | null;
  config_version: number | null;
  model: string;
  generator: string | null;
  priority: string;
  attempts: number;
  max_attempts: number;
  cancel_requested_at: Date | null;
  progress_output_tokens: number;
  max_tokens: number;
  stop_reason: string | null;
  error_code: string | null;
  error_message: string | null;
  input_tokens: number;
  output_tokens: number;
  cache_write_5m_tokens: number;
  cache_write_1h_tokens: number;
  cache_read_tokens: number;
  busy_ms: number;
  created_at: Date;
  dispatched_at: Date | null;
  started_at: Date | null;
  first_token_at: Date | null;
  finished_at: Date | null;
  run_after: Date;
  queued_at: Date | null;
  requested_at: Date | null;
  [cost: `cost_${string}_micros`]: number;
}

/** GET /api/jobs/:id — what a caller needs to follow one job, in the API's snake_case. */
export async function presentJobStatus(db: Queryable, id: string) {
  const [job] = await db.query<JobRecord>(
    `select j.*, v.version as chapter_version,
            coalesce(ch.title, 'Learning analytics, ' || (j.payload ->> 'from') || ' to ' || (j.payload ->> 'to'))
              as chapter_title
     from public.chapter_content_jobs j
     left join public.chapters ch on ch.id = j.chapter_id
     left join public.chapter_versions v on v.job_id = j.id
     where j.id = $1`,
    [id],
  );
  if (!job) return null;
  const micros = (key: `cost_${string}_micros`) => job[key];
  return {
    job_id: job.id,
    kind: job.kind,
    status: job.status,
    /** An analytics job's range; null for a generation. */
    range: job.kind === 'analytics' ? (job.payload as { from: string; to: string }) : null,
    chapter_id: job.chapter_id,
    chapter_title: job.chapter_title,
    chapter_version: job.chapter_version ?? null,
    batch_id: job.batch_id,
    destination: job.destination,
    route: { rule_id: job.route_rule_id, config_version: job.config_version },
    model: job.model,
    generator: job.generator,
    priority: job.priority,
    attempts: job.attempts,
    max_attempts: job.max_attempts,
    cancel_requested: job.cancel_requested_at !== null,
    progress: { output_tokens: job.progress_output_tokens, max_tokens: job.max_tokens },
    stop_reason: job.stop_reason,
    error: job.error_code ? { code: job.error_code, message: job.error_message } : null,
    usage: {
      input_tokens: job.input_tokens,
      output_tokens: job.output_tokens,
      cache_write_5m_tokens: job.cache_write_5m_tokens,
      cache_write_1h_tokens: job.cache_write_1h_tokens,
      cache_read_tokens: job.cache_read_tokens,
      busy_ms: job.busy_ms,
    },
    cost: {
      total_usd: micros('cost_total_micros') / 1_000_000,
      micros: {
        input: micros('cost_input_micros'),
        output: micros('cost_output_micros'),
        cache_write: micros('cost_cache_write_micros'),
        cache_read: micros('cost_cache_read_micros'),
        cloud_run: micros('cost_cloud_run_micros'),
        vercel: micros('cost_vercel_micros'),
        total: micros('cost_total_micros'),
      },
    },
    timestamps: {
      created_at: job.created_at,
      dispatched_at: job.dispatched_at,
      started_at: job.started_at,
      first_token_at: job.first_token_at,
      finished_at: job.finished_at,
      run_after: job.run_after,
      // Null on jobs from before these columns existed: they were queued and requested at creation.
      queued_at: job.queued_at ?? job.created_at,
      requested_at: job.requested_at ?? job.created_at,
    },
  };
}

export type JobStatusView = NonNullable<Awaited<ReturnType<typeof presentJobStatus>>>;

/** GET /api/batches/:id — the batch and its jobs counted by status. */
export async function presentBatchStatus(db: Queryable, id: string) {
  const [batch] = await db.query<{
    id: string;
    name: string;
    job_count: number;
    created_by: string;
    created_at: Date;
    cancel_requested_at: Date | null;
  }>('select id, name, job_count, created_by, created_at, cancel_requested_at from public.batches where id = $1', [id]);
  if (!batch) return null;
  const counts = await db.query<{ status: string; count: number; cost: number }>(
    'select status, count(*) as count, sum(cost_total_micros) as cost from public.chapter_content_jobs where batch_id = $1 group by status',
    [id],
  );
  const byStatus = Object.fromEntries(
    ['pending', 'running', 'succeeded', 'failed', 'cancelled'].map((status) => [status, 0]),
  );
  let cost = 0;
  for (const row of counts) {
    byStatus[row.status] = row.count;
    cost += row.cost;
  }
  return {
    batch_id: batch.id,
    name: batch.name,
    job_count: batch.job_count,
    jobs_by_status: byStatus,
    done: byStatus.pending + byStatus.running === 0,
    cost_micros: cost,
    cancel_requested: batch.cancel_requested_at !== null,
    created_by: batch.created_by,
    created_at: batch.created_at,
  };
}

/** The Job page: the API view plus its timeline, its text so far or its result, and latencies. */
export async function presentJobDetail(db: Queryable, id: string) {
  const job = await presentJobStatus(db, id);
  if (!job) return null;
  const [events, [text], [course]] = await Promise.all([
    db.query<{
      id: number;
      occurred_at: Date;
      event: string;
      from_status: string | null;
      to_status: string | null;
      attempt: number | null;
      detail: Record<string, unknown>;
    }>(
      'select id, occurred_at, event, from_status, to_status, attempt, detail from public.job_events where job_id = $1 order by id',
      [id],
    ),
    db.query<{ streamed_text: string | null; content: string | null }>(
      `select ${STREAMED_TEXT_SQL} as streamed_text, v.content from public.chapter_content_jobs j
       left join public.chapter_versions v on v.job_id = j.id where j.id = $1`,
      [id],
    ),
    db.query<{ title: string }>(
      'select c.title from public.chapters ch join public.courses c on c.id = ch.course_id where ch.id = $1',
      [job.chapter_id],
    ),
  ]);
  const t = job.timestamps as Record<string, Date | null>;
  const span = (from: Date | null, to: Date | null) =>
    from && to ? new Date(to).getTime() - new Date(from).getTime() : null;
  return {
    job,
    courseTitle: course?.title ?? '',
    events,
    streamedText: text?.streamed_text ?? null,
    content: text?.content ?? null,
    latency: {
      // The latest attempt's wait: a retried job's time spent failed or cancelled is not queue wait.
      queueWaitMs: t.started_at && t.queued_at && t.started_at >= t.queued_at ? span(t.queued_at, t.started_at) : null,
      timeToFirstTokenMs: span(t.started_at, t.first_token_at),
      generationMs: span(t.first_token_at, t.finished_at),
      endToEndMs: span(t.requested_at, t.finished_at),
    },
  };
}
