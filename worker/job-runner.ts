import os from 'node:os';
import { randomUUID } from 'node:crypto';

import { GenerationError, ZERO_USAGE, type ChapterGenerator, type TokenUsage } from '../app/domain/generation';
import { JOBS_CHANNEL, type Database } from '../app/server/db/port.server';
import {
  claimJobs,
  completeJob,
  failJob,
  heartbeatJob,
  loadGenerationRequest,
  recordProgress,
  releaseJob,
  workerHeartbeat,
  type AttemptUsage,
  type JobRow,
} from '../app/server/queue.server';
import { createLogger, type Logger } from './log';

export interface JobRunnerOptions {
  db: Database;
  generator: ChapterGenerator;
  workerId?: string;
  /** How many jobs run at once in this process (the seed's containerConcurrency is 1). */
  concurrency?: number;
  leaseSeconds?: number;
  /** Progress writes are throttled to one per this many ms per job. */
  progressIntervalMs?: number;
  log?: Logger;
}

interface RunningJob {
  job: JobRow;
  abort: AbortController;
  reason?: 'cancel' | 'shutdown' | 'lease_lost';
}

/**
 * Claims jobs from PostgreSQL and runs them through the generator until the queue is empty.
 * Wake it with `wake()` (an HTTP wake-up, a NOTIFY of a new job, the sweeper); a lost wake-up
 * only delays a job, because the job row is already durable.
 */
export class JobRunner {
  readonly workerId: string;
  private readonly db: Database;
  private readonly generator: ChapterGenerator;
  private readonly concurrency: number;
  private readonly leaseSeconds: number;
  private readonly progressIntervalMs: number;
  private readonly log: Logger;
  private readonly running = new Map<string, RunningJob>();
  private draining: Promise<number> | undefined;
  private wakeAgain = false;
  private stopping = false;
  private unlisten: (() => Promise<void>) | undefined;
  private presence: ReturnType<typeof setInterval> | undefined;
  private succeeded = 0;
  private failed = 0;

  constructor(options: JobRunnerOptions) {
    this.db = options.db;
    this.generator = options.generator;
    this.workerId = options.workerId ?? `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.concurrency = options.concurrency ?? 1;
    this.leaseSeconds = options.leaseSeconds ?? 30;
    this.progressIntervalMs = options.progressIntervalMs ?? 250;
    this.log = options.log ?? createLogger({ component: 'worker', worker: this.workerId });
  }

  /** Listens for new jobs and cancel requests so both are acted on without polling. */
  async start(): Promise<void> {
    this.unlisten = await this.db.listen(JOBS_CHANNEL, (payload) => this.onNotification(payload));
    await this.reportHeartbeat();
    // An idle worker still reports in, so the Worker page can tell idle from dead.
    this.presence = setInterval(() => void this.reportHeartbeat(), (this.leaseSeconds * 1000) / 3);
    this.presence.unref();
    void this.wake();
  }

  get inFlight(): number {
    return this.running.size;
  }

  get counts() {
    return { succeeded: this.succeeded, failed: this.failed };
  }

  /**
   * Starts draining the queue if not already; a wake during a drain triggers another pass.
   * Resolves with how many jobs the drain finished, within `budgetMs` of work.
   */
  wake(budgetMs = Number.POSITIVE_INFINITY): Promise<number> {
    if (this.stopping) return Promise.resolve(0);
    if (this.draining) {
      this.wakeAgain = true;
      return this.draining;
    }
    this.draining = this.drainLoop(budgetMs).finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  /**
   * Claims and runs jobs until none is due or `budgetMs` has passed (Cloud Run's request
   * timeout minus a margin). Returns how many jobs it finished.
   */
  async drain(budgetMs = Number.POSITIVE_INFINITY): Promise<number> {
    const deadline = Date.now() + budgetMs;
    let finished = 0;
    const slots = Array.from({ length: this.concurrency }, async () => {
      while (!this.stopping && Date.now() < deadline) {
        const [job] = await claimJobs(this.db, this.workerId, this.leaseSeconds, 1);
        if (!job) return;
        await this.run(job);
        finished += 1;
      }
    });
    await Promise.all(slots);
    return finished;
  }

  private async drainLoop(budgetMs: number): Promise<number> {
    const deadline = Date.now() + budgetMs;
    let total = 0;
    do {
      this.wakeAgain = false;
      try {
        total += await this.drain(deadline - Date.now());
      } catch (error) {
        this.log.error('drain failed; the sweeper will wake this worker again', { error: String(error) });
        return total;
      }
    } while (this.wakeAgain && !this.stopping && Date.now() < deadline);
    return total;
  }

  /**
   * Stops claiming, aborts what runs and gives those jobs back to the queue (not failed),
   * as Cloud Run's SIGTERM asks. Resolves when every job is released.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.presence);
    for (const entry of this.running.values()) {
      entry.reason ??= 'shutdown';
      entry.abort.abort();
    }
    await this.draining?.catch(() => undefined);
    await this.unlisten?.().catch(() => undefined);
    await this.reportHeartbeat(true).catch(() => undefined);
  }

  private onNotification(payload: string) {
    let event: { id?: string; status?: string; event?: string };
    try {
      event = JSON.parse(payload);
    } catch {
      return;
    }
    if (event.event === 'cancel_requested' && event.id) {
      const entry = this.running.get(event.id);
      if (entry) {
        entry.reason ??= 'cancel';
        entry.abort.abort();
      }
    } else if (event.status === 'pending') {
      void this.wake();
    }
  }

  private async run(job: JobRow): Promise<void> {
    const entry: RunningJob = { job, abort: new AbortController() };
    this.running.set(job.id, entry);
    const startedAt = performance.now();
    const heartbeat = setInterval(() => void this.heartbeat(entry), (this.leaseSeconds * 1000) / 3);
    const progress = this.throttledProgress(job.id);
    const log = this.log.child({ job: job.id, attempt: job.attempts });
    log.info('job started', { model: job.model, generator: this.generator.name });
    void this.reportHeartbeat();
    try {
      const request = await loadGenerationRequest(this.db, job);
      const result = await this.generator.generate(request, {
        signal: entry.abort.signal,
        onProgress: progress.push,
      });
      await progress.flush();
      if (entry.abort.signal.aborted) throw new GenerationError('Generation aborted.', 'aborted', false, result.usage);
      const usage = this.attemptUsage(result.usage, startedAt);
      const completed = await completeJob(this.db, job.id, this.workerId, { ...result, usage });
      if (completed) this.succeeded += 1;
      log.info(completed ? 'job succeeded' : 'job result discarded: lease lost', {
        output_tokens: result.usage.outputTokens,
        stop_reason: result.stopReason,
        ms: Math.round(performance.now() - startedAt),
      });
    } catch (error) {
      await progress.flush().catch(() => undefined);
      await this.handleFailure(entry, error, startedAt, log);
    } finally {
      clearInterval(heartbeat);
      this.running.delete(job.id);
      void this.reportHeartbeat();
    }
  }

  private async handleFailure(entry: RunningJob, error: unknown, startedAt: number, log: Logger) {
    const generationError =
      error instanceof GenerationError
        ? error
        : new GenerationError(error instanceof Error ? error.message : String(error), 'worker_error', true);
    const usage = this.attemptUsage(generationError.usage, startedAt);
    if (entry.reason === 'shutdown') {
      const status = await releaseJob(this.db, entry.job.id, this.workerId, usage);
      log.info('job released for another worker', { status });
      return;
    }
    if (entry.reason === 'lease_lost') {
      log.warn('job abandoned: its lease was taken over');
      return;
    }
    const status = await failJob(this.db, entry.job.id, this.workerId, {
      code: generationError.code,
      message: generationError.message,
      retryable: generationError.retryable,
      usage,
    });
    if (status === 'failed') this.failed += 1;
    log[status === 'cancelled' ? 'info' : 'warn']('job attempt ended', {
      status,
      code: generationError.code,
      error: generationError.message,
    });
  }

  private attemptUsage(usage: TokenUsage | undefined, startedAt: number): AttemptUsage {
    return { ...(usage ?? ZERO_USAGE), generator: this.generator.name, busyMs: performance.now() - startedAt };
  }

  private async heartbeat(entry: RunningJob) {
    try {
      const { leaseHeld, cancelRequested } = await heartbeatJob(
        this.db,
        entry.job.id,
        this.workerId,
        this.leaseSeconds,
      );
      if (!leaseHeld) entry.reason ??= 'lease_lost';
      else if (cancelRequested) entry.reason ??= 'cancel';
      if (!leaseHeld || cancelRequested) entry.abort.abort();
    } catch (error) {
      this.log.warn('heartbeat failed', { job: entry.job.id, error: String(error) });
    }
  }

  /** Keeps the latest progress and writes it at most once per interval. */
  private throttledProgress(jobId: string) {
    let latest: { text: string; tokens: number } | undefined;
    let lastWrite = 0;
    let writing: Promise<unknown> = Promise.resolve();
    const write = () => {
      if (!latest) return writing;
      const { text, tokens } = latest;
      latest = undefined;
      lastWrite = Date.now();
      writing = writing.then(() => recordProgress(this.db, jobId, this.workerId, tokens, text)).catch(() => undefined);
      return writing;
    };
    return {
      push: (text: string, tokens: number) => {
        latest = { text, tokens };
        if (Date.now() - lastWrite >= this.progressIntervalMs) void write();
      },
      flush: () => write(),
    };
  }

  private async reportHeartbeat(stopped = false) {
    const [current] = this.running.keys();
    await workerHeartbeat(this.db, {
      id: this.workerId,
      host: os.hostname(),
      currentJobId: current ?? null,
      succeeded: this.succeeded,
      failed: this.failed,
      stopped,
    }).catch((error) => this.log.warn('worker heartbeat failed', { error: String(error) }));
  }
}
