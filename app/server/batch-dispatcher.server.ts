import Anthropic from '@anthropic-ai/sdk';

import type { ChapterGenerator, GenerationRequest, TokenUsage } from '~/domain/generation';
import { knownModels, tokenCostMicros, type PriceTable } from '~/domain/prices';

import type { Database } from './db/port.server';
import { chapterMessageParams, usageFromMessage } from './generators/anthropic.server';
import { createOfflineGenerator } from './generators/offline.server';
import type { Logger } from './log.server';

/**
 * The batch dispatcher (ADR 0020): collects pending `batch`-destination jobs into a provider
 * batch, submits it to the Message Batches API with custom_id = job id, polls it with backoff,
 * and completes each job from the results JSONL through ingest_batch_results, a chunk of lines a
 * statement (complete_jobs / fail_jobs, as the streaming path). Every step is a SQL function that is safe to repeat, so a
 * dispatcher killed anywhere resumes on its next tick, in this process or another (the worker's
 * loop and the sweeper's nudge both tick).
 */

export interface BatchDispatcherOptions {
  db: Database;
  /** The Message Batches client; null without ANTHROPIC_API_KEY (the offline generator then runs the jobs). */
  client: Anthropic | null;
  prices: PriceTable;
  log: Logger;
  /** The API takes 100,000 requests or 256 MB per batch; smaller submissions start results sooner. */
  maxRequests?: number;
  maxBytes?: number;
  /** A smaller batch is submitted once its oldest job has waited this long. */
  lingerSeconds?: number;
  /** First poll after this long; each later one waits twice as long, up to maxPollSeconds. */
  firstPollSeconds?: number;
  maxPollSeconds?: number;
  /** Result lines completed per statement, and statements in flight at once. */
  ingestChunk?: number;
  ingestConcurrency?: number;
}

/** The provider's 24 hours and an hour's margin: the reaper takes back only what the provider lost. */
const LEASE_SECONDS = 25 * 3600;
/** A batch whose create call was never answered (the dispatcher died) is given up after this. */
const UNCONFIRMED_CREATE_SECONDS = 900;
const RETRYABLE_ERROR_TYPES = new Set(['api_error', 'overloaded_error', 'rate_limit_error', 'timeout_error']);

interface BatchJob {
  id: string;
  model: string;
  max_tokens: number;
  temperature: number | null;
  course_id: string;
  course_title: string;
  audience: string;
  style_guide: string;
  position: number;
  chapter_title: string;
  outline: string;
}

interface OpenBatch {
  id: string;
  provider: 'anthropic' | 'offline';
  provider_batch_id: string | null;
  status: string;
  created_at: Date;
}

/** One result line, shaped for ingest_batch_results. */
interface IngestRow {
  id: string;
  type: 'succeeded' | 'errored' | 'expired' | 'canceled';
  content: string | null;
  stop_reason: string | null;
  usage: Record<string, unknown> | null;
  error_code: string | null;
  error_message: string | null;
  retryable: boolean;
}

export interface TickResult {
  submitted: number;
  polled: number;
  ingested: number;
  cancelled: number;
}

export function createBatchDispatcher(options: BatchDispatcherOptions) {
  const { db, client, prices, log } = options;
  const maxRequests = options.maxRequests ?? 10_000;
  const maxBytes = options.maxBytes ?? 100 * 1024 * 1024;
  const lingerSeconds = options.lingerSeconds ?? 30;
  const firstPollSeconds = options.firstPollSeconds ?? 30;
  const maxPollSeconds = options.maxPollSeconds ?? 600;
  const ingestChunk = options.ingestChunk ?? 500;
  const ingestConcurrency = options.ingestConcurrency ?? 4;
  const offline: ChapterGenerator = createOfflineGenerator();
  let running: Promise<TickResult> | null = null;
  let timer: NodeJS.Timeout | null = null;

  async function loadJobs(batchId: string): Promise<BatchJob[]> {
    return db.query<BatchJob>(
      `select j.id, j.model, j.max_tokens, j.temperature::float8 as temperature, c.id as course_id,
              c.title as course_title, c.audience, c.style_guide, ch.position, ch.title as chapter_title, ch.outline
       from public.chapter_content_jobs j
       join public.chapters ch on ch.id = j.chapter_id
       join public.courses c on c.id = ch.course_id
       where j.provider_batch_id = $1 and j.status = 'running' and j.lease_owner = 'batch:' || $1
       order by j.created_at, j.id`,
      [batchId],
    );
  }

  const generationRequest = (job: BatchJob): GenerationRequest => ({
    model: job.model,
    maxTokens: job.max_tokens,
    temperature: job.temperature,
    course: { title: job.course_title, audience: job.audience, styleGuide: job.style_guide },
    chapter: { position: job.position, title: job.chapter_title, outline: job.outline },
  });

  /** Gives jobs back to the queue without spending an attempt (they go into a later batch). */
  async function release(batchId: string, jobIds: string[]) {
    if (jobIds.length === 0) return;
    await db.query(`select public.release_job(id, 'batch:' || $2, null) from unnest($1::uuid[]) as id`, [
      jobIds,
      batchId,
    ]);
  }

  /** Submits a collected batch; false when the provider could not take it now (stop collecting this tick). */
  async function submit(batchId: string): Promise<boolean> {
    const jobs = await loadJobs(batchId);
    // A course prompt that repeats in this batch is written to the cache for an hour: a batch's
    // requests run over minutes to hours, past the 5-minute lifetime.
    const perCourse = new Map<string, number>();
    for (const job of jobs) perCourse.set(job.course_id, (perCourse.get(job.course_id) ?? 0) + 1);
    const requests: Anthropic.Messages.BatchCreateParams.Request[] = [];
    let bytes = 0;
    const overflow: string[] = [];
    for (const job of jobs) {
      const request = {
        custom_id: job.id,
        params: chapterMessageParams(generationRequest(job), (perCourse.get(job.course_id) ?? 0) > 1 ? '1h' : '5m'),
      };
      const size = Buffer.byteLength(JSON.stringify(request)) + 1;
      if (bytes + size > maxBytes) overflow.push(job.id);
      else {
        requests.push(request);
        bytes += size;
      }
    }
    await release(batchId, overflow);
    if (requests.length === 0) {
      await db.query('select public.fail_provider_batch($1, $2)', [batchId, 'No request left to submit.']);
      return true;
    }
    await db.query('update public.provider_batches set request_count = $2 where id = $1', [batchId, requests.length]);

    if (!client) {
      await runOffline(
        batchId,
        jobs.filter((job) => !overflow.includes(job.id)),
      );
      return true;
    }

    try {
      const created = await client.messages.batches.create({ requests });
      await db.query('select public.record_provider_batch($1, $2, $3, $4, $5)', [
        batchId,
        created.id,
        bytes,
        created.expires_at,
        firstPollSeconds,
      ]);
      log.info('provider batch submitted', { batch: batchId, provider_batch: created.id, requests: requests.length });
      return true;
    } catch (error) {
      const status = error instanceof Anthropic.APIError ? error.status : undefined;
      const body = error instanceof Anthropic.APIError ? (error.error as { error?: { message?: string } }) : undefined;
      const message = body?.error?.message ?? (error as Error).message;
      await db.query('select public.fail_provider_batch($1, $2)', [batchId, message]);
      const ids = requests.map((request) => request.custom_id);
      if (status !== undefined && status >= 400 && status < 500 && ![408, 409, 429].includes(status)) {
        // Refused as sent: sending it again would be refused again. The jobs fail with the reason.
        await ingest(batchId, {
          rows: ids.map((id) => failure(id, 'batch_create_refused', `Anthropic refused the batch: ${message}`, false)),
        });
        log.warn('provider batch refused', { batch: batchId, status, error: message });
        return true;
      } else {
        // Overloaded or unreachable after the SDK's own retries: a later batch tries again.
        await release(batchId, ids);
        log.warn('provider batch create failed; its jobs wait for the next batch', { batch: batchId, error: message });
        return false;
      }
    }
  }

  /** No API key: the offline generator writes each chapter here, labelled as offline, at no cost. */
  async function runOffline(batchId: string, jobs: BatchJob[]) {
    await db.query(
      `update public.provider_batches set provider = 'offline', status = 'ended', submitted_at = now(), ended_at = now(),
              succeeded = request_count, processing = 0 where id = $1`,
      [batchId],
    );
    const rows: IngestRow[] = [];
    for (const job of jobs) {
      const result = await offline.generate(generationRequest(job), {
        signal: new AbortController().signal,
        onProgress: () => undefined,
      });
      rows.push({
        id: job.id,
        type: 'succeeded',
        content: result.content,
        stop_reason: result.stopReason,
        usage: usageJson(result.usage, 'offline', null),
        error_code: null,
        error_message: null,
        retryable: false,
      });
    }
    await ingest(batchId, { rows });
    await db.query('select public.finish_provider_batch($1, $2)', [batchId, prices.batchDiscountFactor]);
    log.info('batch generated offline (no ANTHROPIC_API_KEY)', { batch: batchId, jobs: jobs.length });
  }

  function usageJson(
    usage: TokenUsage,
    generator: 'anthropic' | 'offline',
    cost: ReturnType<typeof tokenCostMicros> | null,
  ) {
    return {
      generator,
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      cache_write_5m_tokens: usage.cacheWrite5mTokens,
      cache_write_1h_tokens: usage.cacheWrite1hTokens,
      cache_read_tokens: usage.cacheReadTokens,
      busy_ms: 0,
      cost_input_micros: cost?.input ?? 0,
      cost_output_micros: cost?.output ?? 0,
      cost_cache_write_micros: cost?.cacheWrite ?? 0,
      cost_cache_read_micros: cost?.cacheRead ?? 0,
      cost_cloud_run_micros: 0,
      cost_vercel_micros: 0,
      unpriced: generator === 'anthropic' && cost === null,
    };
  }

  const failure = (id: string, code: string, message: string, retryable: boolean): IngestRow => ({
    id,
    type: 'errored',
    content: null,
    stop_reason: null,
    usage: null,
    error_code: code,
    error_message: message,
    retryable,
  });

  /** Ends a chunk of results in one statement (one transaction): ingest_batch_results, set-based. */
  async function ingest(batchId: string, chunk: { rows: IngestRow[] }): Promise<number> {
    if (chunk.rows.length === 0) return 0;
    const [row] = await db.query<{ ingested: number }>(
      'select public.ingest_batch_results($1, $2::jsonb) as ingested',
      [batchId, JSON.stringify(chunk.rows)],
    );
    return row.ingested;
  }

  function toRow(
    line: Anthropic.Messages.MessageBatchIndividualResponse,
    models: Map<string, string>,
    pricedAt: Date,
  ): IngestRow | null {
    const model = models.get(line.custom_id);
    if (!model) return null;
    const result = line.result;
    if (result.type === 'succeeded') {
      const usage = usageFromMessage(result.message.usage);
      const priced = knownModels(prices).includes(model);
      const cost = priced ? tokenCostMicros(prices, model, usage, pricedAt, { batch: true }) : null;
      return {
        id: line.custom_id,
        type: 'succeeded',
        content: result.message.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
        stop_reason: result.message.stop_reason ?? 'unknown',
        usage: usageJson(usage, 'anthropic', cost),
        error_code: null,
        error_message: null,
        retryable: false,
      };
    }
    if (result.type === 'errored') {
      const type = result.error.error.type;
      return failure(
        line.custom_id,
        type,
        `Anthropic batch ${type}: ${result.error.error.message}`,
        RETRYABLE_ERROR_TYPES.has(type),
      );
    }
    if (result.type === 'expired')
      return {
        ...failure(
          line.custom_id,
          'batch_expired',
          'The provider batch expired (24 hours) before this request was processed. Retry it, or send it with asap delivery.',
          false,
        ),
        type: 'expired',
      };
    return {
      ...failure(
        line.custom_id,
        'batch_canceled',
        'The provider batch was cancelled before this request was processed.',
        false,
      ),
      type: 'canceled',
    };
  }

  /** Reads the results JSONL to its end; a break mid-way throws, and the next tick reads it again. */
  async function ingestResults(batch: OpenBatch): Promise<number> {
    if (!client || !batch.provider_batch_id) return 0;
    const jobs = await db.query<{ id: string; model: string }>(
      `select id, model from public.chapter_content_jobs
       where provider_batch_id = $1 and status = 'running' and lease_owner = 'batch:' || $1`,
      [batch.id],
    );
    const models = new Map(jobs.map((job) => [job.id, job.model]));
    let ingested = 0;
    let rows: IngestRow[] = [];
    // Chunks are written by up to ingestConcurrency connections while the stream reads on: each
    // chunk is its own transaction over its own jobs. Two jobs of one chapter in two chunks lock
    // that chapter's row; ingest_batch_results (complete_jobs) takes chapter locks in id order,
    // so two chunks queue on it instead of deadlocking.
    const inFlight = new Set<Promise<void>>();
    let failed: unknown = null;
    const send = async (chunk: IngestRow[]) => {
      const sending = ingest(batch.id, { rows: chunk }).then(
        (count) => void (ingested += count),
        (error: unknown) => void (failed ??= error),
      );
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
      if (inFlight.size >= ingestConcurrency) await Promise.race(inFlight);
    };
    try {
      if (models.size > 0) {
        const stream = await client.messages.batches.results(batch.provider_batch_id);
        for await (const line of stream) {
          const row = toRow(line, models, batch.created_at);
          if (row) rows.push(row);
          if (rows.length >= ingestChunk) {
            await send(rows);
            rows = [];
          }
          if (failed) break;
        }
        await send(rows);
      }
    } finally {
      await Promise.all(inFlight);
    }
    if (failed) throw failed;
    const [missing] = await db.query<{ missing: number }>('select public.finish_provider_batch($1, $2) as missing', [
      batch.id,
      prices.batchDiscountFactor,
    ]);
    log.info('provider batch ingested', { batch: batch.id, ingested, missing: missing.missing });
    return ingested;
  }

  /** Provider batches whose every unfinished job has a cancel request are cancelled at the provider. */
  async function cancelAbandoned(): Promise<number> {
    if (!client) return 0;
    const rows = await db.query<{ id: string; provider_batch_id: string }>(
      `select p.id, p.provider_batch_id from public.provider_batches p
       where p.status = 'in_progress' and p.cancel_requested_at is null and p.provider_batch_id is not null
         and exists (select 1 from public.chapter_content_jobs j
                     where j.provider_batch_id = p.id and j.status = 'running' and j.lease_owner = 'batch:' || p.id)
         and not exists (select 1 from public.chapter_content_jobs j
                         where j.provider_batch_id = p.id and j.status = 'running' and j.lease_owner = 'batch:' || p.id
                           and j.cancel_requested_at is null)`,
    );
    for (const row of rows) {
      await client.messages.batches.cancel(row.provider_batch_id);
      await db.query(
        `update public.provider_batches set cancel_requested_at = now(), status = 'canceling', next_poll_at = now()
         where id = $1`,
        [row.id],
      );
      log.info('provider batch cancelled: all its jobs were', { batch: row.id, provider_batch: row.provider_batch_id });
    }
    return rows.length;
  }

  async function poll(): Promise<{ polled: number; ingested: number }> {
    if (!client) return { polled: 0, ingested: 0 };
    const due = await db.query<OpenBatch & { polls: number }>(
      `select id, provider, provider_batch_id, status, created_at, polls from public.provider_batches
       where status in ('in_progress', 'canceling', 'ended') and provider = 'anthropic' and next_poll_at <= now()
       order by next_poll_at limit 50`,
    );
    let ingested = 0;
    for (const batch of due) {
      try {
        if (batch.status !== 'ended') {
          const remote = await client.messages.batches.retrieve(batch.provider_batch_id!);
          const wait = Math.min(maxPollSeconds, firstPollSeconds * 2 ** Math.min(batch.polls + 1, 20));
          await db.query('select public.record_provider_batch_poll($1, $2, $3, $4, $5)', [
            batch.id,
            remote.processing_status,
            remote.request_counts,
            remote.ended_at,
            wait,
          ]);
          if (remote.processing_status !== 'ended') continue;
        }
        ingested += await ingestResults(batch);
      } catch (error) {
        // One provider batch failing to answer (or a results stream cut mid-way) holds up no other;
        // its jobs keep their lease and the next tick tries again. The page shows the error meanwhile.
        const message = error instanceof Error ? error.message : String(error);
        log.warn('provider batch poll or ingest failed; trying again later', { batch: batch.id, error: message });
        await db.query(
          `update public.provider_batches set last_error = $2, next_poll_at = now() + make_interval(secs => $3)
           where id = $1`,
          [batch.id, `Reading it failed, trying again: ${message}`, firstPollSeconds],
        );
      }
    }
    return { polled: due.length, ingested };
  }

  /** Batches whose create was never confirmed (the dispatcher died in between): their jobs go back. */
  async function recoverUnconfirmed() {
    const stale = await db.query<{ id: string }>(
      `select id from public.provider_batches
       where status = 'submitting' and created_at < now() - make_interval(secs => $1)`,
      [UNCONFIRMED_CREATE_SECONDS],
    );
    for (const { id } of stale) {
      await db.query('select public.fail_provider_batch($1, $2)', [
        id,
        'The dispatcher stopped before the provider confirmed this batch; its jobs went into a later batch.',
      ]);
      const jobs = await db.query<{ id: string }>(
        `select id from public.chapter_content_jobs where provider_batch_id = $1 and status = 'running'
           and lease_owner = 'batch:' || $1`,
        [id],
      );
      await release(
        id,
        jobs.map((job) => job.id),
      );
    }
  }

  async function runTick(): Promise<TickResult> {
    await recoverUnconfirmed();
    let submitted = 0;
    for (;;) {
      const [row] = await db.query<{ id: string | null }>('select public.collect_batch_jobs($1, $2, $3) as id', [
        maxRequests,
        lingerSeconds,
        LEASE_SECONDS,
      ]);
      if (!row.id) break;
      const accepted = await submit(row.id);
      submitted += 1;
      if (!accepted) break;
    }
    const cancelled = await cancelAbandoned();
    const { polled, ingested } = await poll();
    return { submitted, polled, ingested, cancelled };
  }

  /** One pass: submit what is ready, cancel abandoned batches, poll what is due, ingest what ended. */
  function tick(): Promise<TickResult> {
    running ??= runTick().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    tick,
    /** Ticks every intervalMs until stop(); errors are logged and the next tick tries again. */
    start(intervalMs = 5000) {
      timer ??= setInterval(() => {
        tick().catch((error: unknown) => log.warn('batch dispatcher tick failed', { error: String(error) }));
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running?.catch(() => undefined);
    },
  };
}

export type BatchDispatcher = ReturnType<typeof createBatchDispatcher>;

/** The Message Batches client for these settings, or null when no key is set (offline). */
export function batchClientFrom(settings: { ANTHROPIC_API_KEY?: string; ANTHROPIC_BASE_URL?: string }) {
  return settings.ANTHROPIC_API_KEY
    ? new Anthropic({ apiKey: settings.ANTHROPIC_API_KEY, baseURL: settings.ANTHROPIC_BASE_URL, maxRetries: 2 })
    : null;
}
