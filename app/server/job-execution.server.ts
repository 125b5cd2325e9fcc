import {
  GenerationError,
  isGenerationError,
  ZERO_USAGE,
  type ChapterGenerator,
  type TokenUsage,
} from '~/domain/generation';
import { cloudRunCostMicros, tokenCostMicros, vercelCostMicros, type PriceTable } from '~/domain/prices';

import type { Database } from './db/port.server';
import type { Logger } from './log.server';
import {
  completeJob,
  failJob,
  heartbeatJob,
  loadGenerationRequest,
  recordProgress,
  releaseJob,
  type AttemptUsage,
  type JobRow,
} from './queue.server';

/** Why a running generation was stopped from outside; set before aborting. */
export type StopReason = 'cancel' | 'shutdown' | 'lease_lost' | 'timeout';

export interface JobControl {
  abort: AbortController;
  reason?: StopReason;
}

export interface ExecuteJobOptions {
  db: Database;
  job: JobRow;
  generator: ChapterGenerator;
  workerId: string;
  leaseSeconds: number;
  prices: PriceTable;
  control: JobControl;
  log: Logger;
  /** Progress writes are throttled to one per this many ms. */
  progressIntervalMs?: number;
}

export type ExecutionOutcome = 'succeeded' | 'pending' | 'failed' | 'cancelled' | 'released' | 'abandoned';

export interface ExecutionResult {
  outcome: ExecutionOutcome;
  /** Tokens this attempt spent (also when it failed or was stopped). */
  usage: TokenUsage;
}

/**
 * Runs one claimed job to its end: streams the generation, writes throttled progress, keeps the
 * lease alive, and records the outcome with its usage and cost through the queue functions.
 * Used by the Cloud Run worker and by the edge path alike, so both are measured the same way.
 */
export async function executeJob(options: ExecuteJobOptions): Promise<ExecutionResult> {
  const { db, job, generator, workerId, leaseSeconds, control } = options;
  const log = options.log.child({ job: job.id, attempt: job.attempts, destination: job.destination });
  const startedAt = performance.now();
  const heartbeat = setInterval(() => void renewLease(), (leaseSeconds * 1000) / 3);
  const progress = throttledProgress(db, job.id, workerId, options.progressIntervalMs ?? 250);
  log.info('job started', { model: job.model, generator: generator.name });

  async function renewLease() {
    try {
      const { leaseHeld, cancelRequested } = await heartbeatJob(db, job.id, workerId, leaseSeconds);
      if (!leaseHeld) stop('lease_lost');
      else if (cancelRequested) stop('cancel');
    } catch (error) {
      log.warn('heartbeat failed', { error: String(error) });
    }
  }

  function stop(reason: StopReason) {
    control.reason ??= reason;
    control.abort.abort();
  }

  const usageOf = (tokens: TokenUsage | undefined): AttemptUsage => {
    const busyMs = performance.now() - startedAt;
    const usage = tokens ?? ZERO_USAGE;
    // The offline generator spends nothing: its jobs record tokens but no cost, so charts never
    // show invented money.
    if (generator.name === 'offline') return { ...usage, generator: generator.name, busyMs };
    const tokenCost = tokenCostMicros(options.prices, job.model, usage, new Date());
    return {
      ...usage,
      generator: generator.name,
      busyMs,
      costMicros: {
        ...tokenCost,
        cloudRun: job.destination === 'cloud' ? cloudRunCostMicros(options.prices, busyMs) : 0,
        vercel: job.destination === 'edge' ? vercelCostMicros(options.prices, busyMs) : 0,
      },
    };
  };

  try {
    const request = await loadGenerationRequest(db, job);
    const result = await generator.generate(request, { signal: control.abort.signal, onProgress: progress.push });
    await progress.flush();
    if (control.abort.signal.aborted) throw new GenerationError('Generation aborted.', 'aborted', false, result.usage);
    const completed = await completeJob(db, job.id, workerId, { ...result, usage: usageOf(result.usage) });
    log.info(completed ? 'job succeeded' : 'job result discarded: lease lost', {
      output_tokens: result.usage.outputTokens,
      stop_reason: result.stopReason,
      ms: Math.round(performance.now() - startedAt),
    });
    return { outcome: completed ? 'succeeded' : 'abandoned', usage: result.usage };
  } catch (error) {
    await progress.flush().catch(() => undefined);
    const failure = isGenerationError(error)
      ? error
      : new GenerationError(error instanceof Error ? error.message : String(error), 'worker_error', true);
    const usage = usageOf(failure.usage);
    if (control.reason === 'shutdown') {
      const status = await releaseJob(db, job.id, workerId, usage);
      log.info('job released for another worker', { status });
      return { outcome: 'released', usage: failure.usage };
    }
    if (control.reason === 'lease_lost') {
      log.warn('job abandoned: its lease was taken over');
      return { outcome: 'abandoned', usage: failure.usage };
    }
    const timedOut = control.reason === 'timeout';
    const status = await failJob(db, job.id, workerId, {
      code: timedOut ? 'timeout' : failure.code,
      message: timedOut
        ? `Generation did not finish within the route's timeout of ${job.timeout_ms} ms.`
        : failure.message,
      retryable: timedOut ? false : failure.retryable,
      usage,
    });
    log[status === 'failed' ? 'warn' : 'info']('job attempt ended', {
      status,
      code: failure.code,
      error: failure.message,
    });
    return { outcome: status === null || status === 'running' ? 'abandoned' : status, usage: failure.usage };
  } finally {
    clearInterval(heartbeat);
  }
}

/** Keeps the latest progress and writes it at most once per interval. */
function throttledProgress(db: Database, jobId: string, workerId: string, intervalMs: number) {
  let latest: { text: string; tokens: number } | undefined;
  let lastWrite = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const write = () => {
    if (!latest) return writing;
    const { text, tokens } = latest;
    latest = undefined;
    lastWrite = Date.now();
    writing = writing.then(() => recordProgress(db, jobId, workerId, tokens, text)).catch(() => undefined);
    return writing;
  };
  return {
    push: (text: string, tokens: number) => {
      latest = { text, tokens };
      if (Date.now() - lastWrite >= intervalMs) void write();
    },
    flush: () => write(),
  };
}
