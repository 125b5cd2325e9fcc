import {
  GenerationError,
  isGenerationError,
  ZERO_USAGE,
  type ChapterGenerator,
  type GenerationRequest,
  type TokenUsage,
} from '~/domain/generation';
import { cloudRunCostMicros, knownModels, tokenCostMicros, vercelCostMicros, type PriceTable } from '~/domain/prices';

import { immediateRecorder, type AttemptRecorder } from './completion-batcher.server';
import type { Database } from './db/port.server';
import type { Logger } from './log.server';
import {
  bookLostAttempt,
  heartbeatJob,
  loadGenerationRequest,
  releaseJob,
  type AttemptUsage,
  type JobRow,
} from './queue.server';
import { streamedTextWriter } from './streamed-text.server';

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
  /**
   * This job's share of its instance's busy time so far (ms), when the instance runs several jobs
   * at once (ComputeMeter); compute is then charged once per instance-second. Default: its own
   * busy time.
   */
  computeShareMs?: () => number;
  /** How the attempt's end is recorded: the worker batches them (CompletionBatcher); default one statement each. */
  recorder?: AttemptRecorder;
  /** The prompt input, when the caller loaded it with others (loadGenerationRequests); else loaded here. */
  request?: GenerationRequest;
}

export type ExecutionOutcome = 'succeeded' | 'pending' | 'failed' | 'cancelled' | 'released' | 'abandoned';

export interface ExecutionResult {
  outcome: ExecutionOutcome;
  /** Tokens this attempt spent (also when it failed or was stopped). */
  usage: TokenUsage;
}

/**
 * Renews a running attempt's lease every third of its length until the returned function is
 * called, and stops the attempt (`control`) when the lease was taken over or a cancel was asked.
 */
export function keepLease(
  options: Pick<ExecuteJobOptions, 'db' | 'job' | 'workerId' | 'leaseSeconds' | 'control'>,
  log: Logger,
): () => void {
  const { db, job, workerId, leaseSeconds, control } = options;
  const stop = (reason: StopReason) => {
    control.reason ??= reason;
    control.abort.abort();
  };
  const renew = async () => {
    try {
      const { leaseHeld, cancelRequested } = await heartbeatJob(db, job.id, workerId, leaseSeconds);
      if (!leaseHeld) stop('lease_lost');
      else if (cancelRequested) stop('cancel');
    } catch (error) {
      log.warn('heartbeat failed', { error: String(error) });
    }
  };
  const heartbeat = setInterval(() => void renew(), (leaseSeconds * 1000) / 3);
  return () => clearInterval(heartbeat);
}

/**
 * Runs one claimed job to its end: streams the generation, writes throttled progress, keeps the
 * lease alive, and records the outcome with its usage and cost through the queue functions.
 * Used by the Cloud Run worker and by the edge path alike, so both are measured the same way.
 */
export async function executeJob(options: ExecuteJobOptions): Promise<ExecutionResult> {
  const { db, job, generator, workerId, control } = options;
  const log = options.log.child({ job: job.id, attempt: job.attempts, destination: job.destination });
  const startedAt = performance.now();
  const recorder = options.recorder ?? immediateRecorder(db);
  const releaseLease = keepLease(options, log);
  let firstTokenAt: Date | null = null;
  const progress = throttledProgress(
    streamedTextWriter(db, { jobId: job.id, workerId, attempt: job.attempts }),
    options.progressIntervalMs ?? 250,
    (tokens) => usageOf(tokens),
  );
  const onProgress = (text: string, tokens: number, usage?: TokenUsage) => {
    if (text !== '' && firstTokenAt === null) firstTokenAt = new Date();
    progress.push(text, tokens, usage);
  };
  log.info('job started', { model: job.model, generator: generator.name });

  // An attempt is priced at its start: the prices in force when its request was made.
  const pricedAt = job.started_at ?? new Date();
  const priced = knownModels(options.prices).includes(job.model);
  const usageOf = (tokens: TokenUsage | undefined): AttemptUsage => {
    const busyMs = performance.now() - startedAt;
    const usage = { ...(tokens ?? ZERO_USAGE), firstTokenAt };
    // The offline generator spends nothing: its jobs record tokens but no cost, so charts never
    // show invented money.
    if (generator.name === 'offline') return { ...usage, generator: generator.name, busyMs };
    if (!priced) return { ...usage, generator: generator.name, busyMs, unpriced: true };
    const tokenCost = tokenCostMicros(options.prices, job.model, usage, pricedAt);
    return {
      ...usage,
      generator: generator.name,
      busyMs,
      costMicros: {
        ...tokenCost,
        cloudRun:
          job.destination === 'cloud' ? cloudRunCostMicros(options.prices, options.computeShareMs?.() ?? busyMs) : 0,
        vercel: job.destination === 'edge' ? vercelCostMicros(options.prices, busyMs) : 0,
      },
    };
  };

  try {
    if (!priced && generator.name !== 'offline') {
      // WARNING: never retried automatically: every run would spend again at an unknown price.
      throw new GenerationError(
        `Model "${job.model}" has no price in this worker's price table, so its spend could not be counted; ` +
          `it was not run. Known models: ${knownModels(options.prices).join(', ')}. Add its prices ` +
          '(PRICES_OVERRIDE) or retry it with a priced model.',
        'unpriced_model',
        false,
      );
    }
    const request = options.request ?? (await loadGenerationRequest(db, job));
    const result = await generator.generate(request, { signal: control.abort.signal, onProgress });
    if (control.abort.signal.aborted) throw new GenerationError('Generation aborted.', 'aborted', false, result.usage);
    // The completion supersedes progress not yet written (it carries the final text and usage).
    await progress.discard();
    const finalUsage = usageOf(result.usage);
    const completed = await recorder.complete(job.id, workerId, { ...result, usage: finalUsage });
    if (!completed) await bookLostAttempt(db, job.id, workerId, finalUsage);
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
      await bookLostAttempt(db, job.id, workerId, usage);
      log.warn('job abandoned: its lease was taken over; its usage is booked to its attempt');
      return { outcome: 'abandoned', usage: failure.usage };
    }
    const timedOut = control.reason === 'timeout';
    const status = await recorder.fail(job.id, workerId, {
      code: timedOut ? 'timeout' : failure.code,
      message: timedOut
        ? `Generation did not finish within the route's timeout of ${job.timeout_ms} ms.`
        : failure.message,
      retryable: timedOut ? false : failure.retryable,
      usage,
    });
    if (status === null) await bookLostAttempt(db, job.id, workerId, usage);
    log[status === 'failed' ? 'warn' : 'info']('job attempt ended', {
      status,
      code: failure.code,
      error: failure.message,
    });
    return { outcome: status === null || status === 'running' ? 'abandoned' : status, usage: failure.usage };
  } finally {
    releaseLease();
  }
}

/**
 * Keeps the latest progress and writes it at most once per interval (the last report of a burst
 * once the interval has passed), with the attempt's usage and cost so far; each write appends only
 * the text streamed since the last one it stored (streamedTextWriter). The first write waits
 * an interval too: a job that ends within it has its progress superseded by its end, which
 * carries the final text and usage, so a fast job costs no progress write at all. What a worker
 * that dies within its attempt's first interval had reported is lost (the reaper books the attempt
 * with no usage); a real generation runs for seconds and has written progress by then.
 */
function throttledProgress(
  writeProgress: ReturnType<typeof streamedTextWriter>,
  intervalMs: number,
  usageOf: (tokens: TokenUsage) => AttemptUsage,
) {
  let latest: { text: string; tokens: number; usage?: TokenUsage } | undefined;
  let lastWrite = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<unknown> = Promise.resolve();
  const write = () => {
    clearTimeout(timer);
    timer = undefined;
    if (!latest) return writing;
    const { text, tokens, usage } = latest;
    latest = undefined;
    lastWrite = Date.now();
    writing = writing.then(() => writeProgress(text, tokens, usage && usageOf(usage))).catch(() => undefined);
    return writing;
  };
  return {
    push: (text: string, tokens: number, usage?: TokenUsage) => {
      latest = { text, tokens, usage };
      const due = lastWrite + intervalMs - Date.now();
      if (due <= 0) void write();
      else timer ??= setTimeout(() => void write(), due);
    },
    /** Writes what is held now (an attempt that ends in error keeps its partial text). */
    flush: () => write(),
    /** Drops what is held and waits for a write under way. */
    discard: () => {
      clearTimeout(timer);
      timer = undefined;
      latest = undefined;
      return writing;
    },
  };
}
