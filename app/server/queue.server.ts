import type { GenerationRequest, TokenUsage } from '~/domain/generation';
import type { AnalyticsPayload, JobKind } from '~/domain/job-kinds';
import type { Destination, JobStatus, Priority } from '~/domain/job-status';

import type { ListenerState, Queryable } from './db/port.server';

/**
 * Typed calls of the queue functions in supabase/migrations. The SQL functions hold the
 * semantics; this module only names the arguments and shapes the rows.
 */

export interface NewJob {
  chapterId: string;
  model: string;
  maxTokens: number;
  temperature?: number | null;
  priority?: Priority;
  destination?: Destination;
  routeRuleId?: string | null;
  configVersion?: number | null;
  timeoutMs?: number;
  maxRetries?: number;
  retryBackoff?: 'none' | 'linear' | 'exponential';
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Destination batch: a retryable errored result is retried from the cloud, not a later batch. */
  batchRetriesToCloud?: boolean;
  idempotencyKey?: string | null;
  /** The request's fingerprint, stored with idempotencyKey (see requestFingerprint). */
  idempotencyFingerprint?: string | null;
  createdBy: string;
  /** A worker is woken right after this commits. */
  dispatched?: boolean;
  /** The rollout and variant the router assigned (ADR 0018). */
  rolloutId?: string | null;
  variant?: 'baseline' | 'candidate' | null;
}

export interface JobRow {
  id: string;
  kind: JobKind;
  /** Null for a generation (check constraint chapter_content_jobs_kind_shape). */
  chapter_id: string | null;
  /** What a non-generation kind needs; parse it with parseJobPayload. */
  payload: unknown;
  batch_id: string | null;
  status: JobStatus;
  destination: Destination;
  priority: Priority;
  timeout_ms: number;
  attempts: number;
  max_attempts: number;
  model: string;
  max_tokens: number;
  temperature: number | null;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  cancel_requested_at: Date | null;
  run_after: Date;
  error_code: string | null;
  error_message: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export function jobJson(job: NewJob) {
  return {
    chapter_id: job.chapterId,
    model: job.model,
    max_tokens: job.maxTokens,
    temperature: job.temperature ?? null,
    priority: job.priority,
    destination: job.destination,
    route_rule_id: job.routeRuleId,
    config_version: job.configVersion,
    timeout_ms: job.timeoutMs,
    max_retries: job.maxRetries,
    retry_backoff: job.retryBackoff,
    retry_base_ms: job.retryBaseMs,
    retry_max_ms: job.retryMaxMs,
    batch_retries_to_cloud: job.batchRetriesToCloud ?? false,
    idempotency_key: job.idempotencyKey,
    idempotency_fingerprint: job.idempotencyFingerprint,
    created_by: job.createdBy,
    dispatched: job.dispatched ?? false,
    rollout_id: job.rolloutId ?? null,
    variant: job.variant ?? null,
  };
}

/**
 * SQLSTATE raised by submit_job and submit_batch when an idempotency key comes back with a
 * different request fingerprint; nothing was written.
 */
const IDEMPOTENCY_KEY_REUSED = 'SW422';

export function isIdempotencyKeyReused(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === IDEMPOTENCY_KEY_REUSED;
}

export async function submitJob(db: Queryable, job: NewJob): Promise<{ jobId: string; created: boolean }> {
  const [row] = await db.query<{ job_id: string; created: boolean }>('select * from public.submit_job($1)', [
    jobJson(job),
  ]);
  return { jobId: row.job_id, created: row.created };
}

export async function submitBatch(
  db: Queryable,
  batch: { name: string; idempotencyKey?: string | null; idempotencyFingerprint?: string | null; createdBy: string },
  jobs: NewJob[],
): Promise<{ batchId: string; created: boolean }> {
  const [row] = await db.query<{ batch_id: string; created: boolean }>('select * from public.submit_batch($1, $2)', [
    {
      name: batch.name,
      idempotency_key: batch.idempotencyKey,
      idempotency_fingerprint: batch.idempotencyFingerprint,
      created_by: batch.createdBy,
    },
    JSON.stringify(jobs.map(jobJson)),
  ]);
  return { batchId: row.batch_id, created: row.created };
}

/**
 * Sets a batch's spend cap (null: none) and the estimate each of its running jobs reserves
 * against it; spent and reserved are recomputed, and a paused batch whose next job fits again
 * resumes. Returns whether the batch is paused afterwards.
 */
export async function setBatchCap(
  db: Queryable,
  batchId: string,
  maxCostMicros: number | null,
  jobEstimateMicros: number | null,
): Promise<{ paused: boolean }> {
  const [row] = await db.query<{ paused_at: Date | null }>('select public.set_batch_cap($1, $2, $3) as paused_at', [
    batchId,
    maxCostMicros,
    jobEstimateMicros,
  ]);
  return { paused: row.paused_at !== null };
}

/** Resumes a paused batch by lifting its cap; null when no batch has the id. */
export async function resumeBatch(db: Queryable, batchId: string): Promise<'resumed' | 'not_paused' | null> {
  const [row] = await db.query<{ outcome: 'resumed' | 'not_paused' | null }>(
    'select public.resume_batch($1) as outcome',
    [batchId],
  );
  return row.outcome;
}

/** Compares the month to date with the budget: alerts, and pausing non-high claims at 100 %. */
export async function checkSpend(db: Queryable): Promise<number> {
  const [row] = await db.query<{ spent: number }>('select public.check_spend() as spent');
  return Number(row.spent);
}

export function claimJobs(db: Queryable, workerId: string, leaseSeconds: number, limit = 1): Promise<JobRow[]> {
  return db.query<JobRow>('select * from public.claim_jobs($1, $2, $3)', [workerId, leaseSeconds, limit]);
}

export async function heartbeatJob(
  db: Queryable,
  jobId: string,
  workerId: string,
  leaseSeconds: number,
): Promise<{ leaseHeld: boolean; cancelRequested: boolean }> {
  const [row] = await db.query<{ lease_held: boolean; cancel_requested: boolean }>(
    'select * from public.heartbeat_job($1, $2, $3)',
    [jobId, workerId, leaseSeconds],
  );
  return { leaseHeld: row.lease_held, cancelRequested: row.cancel_requested };
}

/** One progress write: what is new in a running attempt's streamed text, and where it starts. */
export interface ProgressAppend {
  jobId: string;
  workerId: string;
  /** The attempt the writer runs (the job row's `attempts` when it was claimed). */
  attempt: number;
  /** Where `text` starts in the attempt's text, in characters (Unicode code points). */
  offset: number;
  /** The text from `offset` on; what the database already holds of it is skipped. */
  text: string;
  outputTokens: number;
  /** The attempt's usage and cost so far, kept in its ledger row so a dead attempt is booked from it. */
  usage?: AttemptUsage;
}

/**
 * Appends streamed text to a running attempt (append_progress): false when the writer no longer
 * holds the attempt's lease. Sending the same write again appends nothing twice.
 */
export async function appendProgress(db: Queryable, write: ProgressAppend): Promise<boolean> {
  const [row] = await db.query<{ held: boolean }>('select public.append_progress($1, $2, $3, $4, $5, $6, $7) as held', [
    write.jobId,
    write.workerId,
    write.attempt,
    write.offset,
    write.text,
    write.outputTokens,
    write.usage ? usageJson(write.usage) : null,
  ]);
  return row.held;
}

/** One attempt's usage and cost, as add_job_usage expects it. */
export interface AttemptUsage extends TokenUsage {
  /** Null for a job that calls no generator (analytics). */
  generator: 'anthropic' | 'offline' | null;
  busyMs: number;
  costMicros?: Partial<Record<'input' | 'output' | 'cacheWrite' | 'cacheRead' | 'cloudRun' | 'vercel', number>>;
  /** The model has no price: tokens are recorded, the cost is unknown (never shown as $0). */
  unpriced?: boolean;
  /**
   * When the worker saw the first token: kept by the end of an attempt that ended before any
   * progress write set it (a fast job's progress is superseded by its completion).
   */
  firstTokenAt?: Date | null;
}

function usageJson(usage: AttemptUsage) {
  const cost = usage.costMicros ?? {};
  return {
    generator: usage.generator,
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cache_write_5m_tokens: usage.cacheWrite5mTokens,
    cache_write_1h_tokens: usage.cacheWrite1hTokens,
    cache_read_tokens: usage.cacheReadTokens,
    busy_ms: Math.round(usage.busyMs),
    cost_input_micros: cost.input ?? 0,
    cost_output_micros: cost.output ?? 0,
    cost_cache_write_micros: cost.cacheWrite ?? 0,
    cost_cache_read_micros: cost.cacheRead ?? 0,
    cost_cloud_run_micros: cost.cloudRun ?? 0,
    cost_vercel_micros: cost.vercel ?? 0,
    unpriced: usage.unpriced ?? false,
    first_token_at: usage.firstTokenAt?.toISOString() ?? null,
  };
}

/** A successful attempt's result, as complete_job and complete_jobs take it. */
export interface CompletionResult {
  content: string;
  stopReason: string;
  usage: AttemptUsage;
}

/** A failed attempt, as fail_job and fail_jobs take it. */
export interface AttemptFailure {
  code: string;
  message: string;
  retryable: boolean;
  usage: AttemptUsage;
}

/**
 * Completes any number of jobs in one statement (the worker's completion batcher). One answer per
 * distinct job id, in order: false for a job not running under that worker's lease, which is
 * refused alone while the others complete.
 */
export async function completeJobs(
  db: Queryable,
  results: ({ jobId: string; workerId: string } & CompletionResult)[],
): Promise<Map<string, boolean>> {
  const rows = await db.query<{ job_id: string; completed: boolean }>('select * from public.complete_jobs($1)', [
    JSON.stringify(
      results.map((result) => ({
        job_id: result.jobId,
        worker: result.workerId,
        content: result.content,
        stop_reason: result.stopReason,
        usage: usageJson(result.usage),
      })),
    ),
  ]);
  return new Map(rows.map((row) => [row.job_id, row.completed]));
}

/** Ends any number of attempts in error in one statement; per job its new status, or null as failJob. */
export async function failJobs(
  db: Queryable,
  failures: ({ jobId: string; workerId: string } & AttemptFailure)[],
): Promise<Map<string, JobStatus | null>> {
  const rows = await db.query<{ job_id: string; status: JobStatus | null }>('select * from public.fail_jobs($1)', [
    JSON.stringify(
      failures.map((failure) => ({
        job_id: failure.jobId,
        worker: failure.workerId,
        error_code: failure.code,
        error_message: failure.message,
        retryable: failure.retryable,
        usage: usageJson(failure.usage),
      })),
    ),
  ]);
  return new Map(rows.map((row) => [row.job_id, row.status]));
}

export async function completeJob(
  db: Queryable,
  jobId: string,
  workerId: string,
  result: CompletionResult,
): Promise<boolean> {
  const [row] = await db.query<{ completed: boolean }>('select public.complete_job($1, $2, $3, $4, $5) as completed', [
    jobId,
    workerId,
    result.content,
    result.stopReason,
    usageJson(result.usage),
  ]);
  return row.completed;
}

/** Queues an analytics job for a range of whole UTC days (a replayed idempotency key: the first job). */
export async function submitAnalyticsJob(
  db: Queryable,
  job: AnalyticsPayload & { createdBy: string; idempotencyKey?: string | null },
): Promise<{ jobId: string; created: boolean }> {
  const [row] = await db.query<{ job_id: string; created: boolean }>(
    'select * from public.submit_analytics_job($1, $2, $3, $4)',
    [job.from, job.to, job.createdBy, job.idempotencyKey ?? null],
  );
  return { jobId: row.job_id, created: row.created };
}

/** Stores an analytics job's result and ends its attempt; false when the lease was lost. */
export async function completeAnalyticsJob(
  db: Queryable,
  jobId: string,
  workerId: string,
  result: unknown,
  usage: AttemptUsage,
): Promise<boolean> {
  const [row] = await db.query<{ completed: boolean }>(
    'select public.complete_analytics_job($1, $2, $3, $4) as completed',
    [jobId, workerId, JSON.stringify(result), usageJson(usage)],
  );
  return row.completed;
}

export async function failJob(
  db: Queryable,
  jobId: string,
  workerId: string,
  error: AttemptFailure,
): Promise<JobStatus | null> {
  const [row] = await db.query<{ status: JobStatus | null }>(
    'select public.fail_job($1, $2, $3, $4, $5, $6) as status',
    [jobId, workerId, error.code, error.message, error.retryable, usageJson(error.usage)],
  );
  return row.status;
}

export async function releaseJob(
  db: Queryable,
  jobId: string,
  workerId: string,
  usage: AttemptUsage,
): Promise<JobStatus | null> {
  const [row] = await db.query<{ status: JobStatus | null }>('select public.release_job($1, $2, $3) as status', [
    jobId,
    workerId,
    usageJson(usage),
  ]);
  return row.status;
}

/**
 * Books the final usage of an attempt whose lease was taken over (the reaper closed it with what
 * it had recorded). False when the reaper closed no attempt of this worker's.
 */
export async function bookLostAttempt(
  db: Queryable,
  jobId: string,
  workerId: string,
  usage: AttemptUsage,
): Promise<boolean> {
  const [row] = await db.query<{ booked: boolean }>('select public.book_lost_attempt($1, $2, $3) as booked', [
    jobId,
    workerId,
    usageJson(usage),
  ]);
  return row.booked;
}

export async function cancelJob(db: Queryable, jobId: string, actor: string): Promise<JobStatus | null> {
  const [outcome] = await cancelJobs(db, [jobId], actor);
  return outcome.status;
}

/** What one bulk call did to one job; both statuses are null when no job has the id. */
export interface JobOutcome {
  job_id: string;
  previous_status: JobStatus | null;
  status: JobStatus | null;
}

/** Cancels any number of jobs in one statement; one outcome per distinct id, in request order. */
export function cancelJobs(db: Queryable, jobIds: string[], actor: string): Promise<JobOutcome[]> {
  return db.query<JobOutcome>('select * from public.cancel_jobs($1::uuid[], $2)', [jobIds, actor]);
}

export async function cancelBatch(
  db: Queryable,
  batchId: string,
  actor: string,
): Promise<{ cancelled: number; stopping: number }> {
  const [row] = await db.query<{ cancelled: number; stopping: number }>('select * from public.cancel_batch($1, $2)', [
    batchId,
    actor,
  ]);
  return row;
}

export async function retryJob(db: Queryable, jobId: string, actor: string): Promise<JobStatus | null> {
  const [outcome] = await retryJobs(db, [jobId], actor);
  return outcome.status;
}

/** Queues any number of failed or cancelled jobs again in one statement; outcomes as cancelJobs. */
export function retryJobs(db: Queryable, jobIds: string[], actor: string): Promise<JobOutcome[]> {
  return db.query<JobOutcome>('select * from public.retry_jobs($1::uuid[], $2)', [jobIds, actor]);
}

export function reapExpiredLeases(db: Queryable): Promise<{ job_id: string; status: JobStatus }[]> {
  return db.query('select * from public.reap_expired_leases()');
}

export async function workerHeartbeat(
  db: Queryable,
  worker: {
    id: string;
    host: string;
    currentJobId: string | null;
    succeeded: number;
    failed: number;
    stopped: boolean;
    /** Its LISTEN connection, shown on the Worker page. */
    listener?: ListenerState;
  },
): Promise<void> {
  await db.query('select public.worker_heartbeat($1, $2, $3, $4, $5, $6, $7)', [
    worker.id,
    worker.host,
    worker.currentJobId,
    worker.succeeded,
    worker.failed,
    worker.stopped,
    worker.listener ?? null,
  ]);
}

/** Which of these (running) jobs have a cancel request: the poll that stands in for NOTIFY. */
export async function cancelRequestedAmong(db: Queryable, jobIds: string[]): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `select id from public.chapter_content_jobs where id = any($1::uuid[]) and cancel_requested_at is not null`,
    [jobIds],
  );
  return rows.map((row) => row.id);
}

/** The course and chapter a job generates, shaped as the generator's prompt input. */
export async function loadGenerationRequest(db: Queryable, job: JobRow): Promise<GenerationRequest> {
  const requests = await loadGenerationRequests(db, [job]);
  const request = requests.get(job.id);
  if (!request) throw new Error(`Chapter ${job.chapter_id} of job ${job.id} does not exist.`);
  return request;
}

/** The prompt inputs of many generation jobs in one query (the worker loads a claimed batch's at once). */
export async function loadGenerationRequests(db: Queryable, jobs: JobRow[]): Promise<Map<string, GenerationRequest>> {
  const chapterIds = [...new Set(jobs.flatMap((job) => (job.chapter_id ? [job.chapter_id] : [])))];
  if (chapterIds.length === 0) return new Map();
  const rows = await db.query<{
    chapter_id: string;
    course_title: string;
    audience: string;
    style_guide: string;
    position: number;
    chapter_title: string;
    outline: string;
  }>(
    `select ch.id as chapter_id, c.title as course_title, c.audience, c.style_guide, ch.position,
            ch.title as chapter_title, ch.outline
     from public.chapters ch join public.courses c on c.id = ch.course_id
     where ch.id = any($1::uuid[])`,
    [chapterIds],
  );
  const chapters = new Map(rows.map((row) => [row.chapter_id, row]));
  const requests = new Map<string, GenerationRequest>();
  for (const job of jobs) {
    const row = job.chapter_id ? chapters.get(job.chapter_id) : undefined;
    if (!row) continue;
    requests.set(job.id, {
      model: job.model,
      maxTokens: job.max_tokens,
      temperature: job.temperature,
      course: { title: row.course_title, audience: row.audience, styleGuide: row.style_guide },
      chapter: { position: row.position, title: row.chapter_title, outline: row.outline },
    });
  }
  return requests;
}

/** Claims one specific pending job (the edge path, in the transaction that inserted it). */
export async function claimJob(
  db: Queryable,
  jobId: string,
  workerId: string,
  leaseSeconds: number,
): Promise<JobRow | null> {
  const [row] = await db.query<JobRow>('select * from public.claim_job($1, $2, $3)', [jobId, workerId, leaseSeconds]);
  return row ?? null;
}

/** Chapter ids that exist, with their course, for validating and routing a submission. */
export async function findChapters(db: Queryable, ids: string[]): Promise<Map<string, { courseId: string }>> {
  const rows = await db.query<{ id: string; course_id: string }>(
    'select id, course_id from public.chapters where id = any($1)',
    [ids],
  );
  return new Map(rows.map((row) => [row.id, { courseId: row.course_id }]));
}

/** Pending jobs that have waited longer than `seconds` for a worker: the sweeper wakes one again. */
export async function countOverdueJobs(db: Queryable, seconds: number): Promise<number> {
  const [row] = await db.query<{ count: number }>(
    `select count(*) as count from public.chapter_content_jobs
     where status = 'pending' and run_after < now() - make_interval(secs => $1)`,
    [seconds],
  );
  return row.count;
}
