import os from 'node:os';
import { randomUUID } from 'node:crypto';

import { ComputeMeter } from '../app/domain/compute-meter';
import type { ChapterGenerator } from '../app/domain/generation';
import { DEFAULT_PRICES, type PriceTable } from '../app/domain/prices';
import {
  JOBS_CHANNEL,
  LISTENER_POLL_INTERVAL_MS,
  listenerNeedsPolling,
  parseJobsNotification,
  type Database,
} from '../app/server/db/port.server';
import { executeAnalyticsJob } from '../app/server/analytics-job.server';
import { CompletionBatcher } from '../app/server/completion-batcher.server';
import { executeJob, type ExecutionResult, type JobControl } from '../app/server/job-execution.server';
import type { Services } from '../app/server/composition.server';
import { createLogger, type Logger } from '../app/server/log.server';
import type { GenerationRequest } from '../app/domain/generation';
import {
  cancelRequestedAmong,
  claimJobs,
  loadGenerationRequests,
  workerHeartbeat,
  type JobRow,
} from '../app/server/queue.server';

/**
 * Changes of what runs are reported to worker_heartbeats at most this often (and at the end of
 * every drain): a report per job start and end was two statements per job.
 */
const PRESENCE_COALESCE_MS = 250;

export interface JobRunnerOptions {
  db: Database;
  generator: ChapterGenerator;
  workerId?: string;
  /**
   * How many jobs run at once in this process (the seed's containerConcurrency is 1). It is also
   * the local queue: free slots are filled by one claim_jobs call. No job is claimed beyond it,
   * because a claimed job's lease runs from its claim and a chapter takes seconds to minutes.
   */
  concurrency?: number;
  leaseSeconds?: number;
  progressIntervalMs?: number;
  prices?: PriceTable;
  log?: Logger;
  /** Called after each job attempt, for metrics. */
  onOutcome?: (job: JobRow, result: ExecutionResult, durationMs: number) => void;
  /**
   * Whether a new-job notification (or the start) may start a drain outside a wake-up request
   * (default true). On Cloud Run with CPU only during requests an idle instance has no CPU, so
   * there the worker works only inside wake-ups (WORKER_IDLE_WAKE=false), and a notification
   * during a drain only asks that drain for another pass.
   */
  wakeOnIdle?: boolean;
}

/** The runner as both processes start it: the app's embedded worker and `npm run worker`. */
export function createJobRunner(
  services: Services,
  settings: { WORKER_CONCURRENCY: number; WORKER_LEASE_SECONDS: number; WORKER_IDLE_WAKE?: boolean },
  onOutcome?: JobRunnerOptions['onOutcome'],
): JobRunner {
  return new JobRunner({
    db: services.db,
    generator: services.generator,
    prices: services.prices,
    log: services.log.child({ component: 'worker' }),
    concurrency: settings.WORKER_CONCURRENCY,
    leaseSeconds: settings.WORKER_LEASE_SECONDS,
    wakeOnIdle: settings.WORKER_IDLE_WAKE,
    onOutcome,
  });
}

/** Asked before each claim; false ends the drain (the fleet is stepping down). */
export type MayContinue = () => Promise<boolean>;

/**
 * Claims jobs from PostgreSQL and runs them until the queue is empty. Wake it with `wake()` (an
 * HTTP wake-up, a NOTIFY of a new job, the sweeper); a lost wake-up only delays a job, because
 * the job row is already durable.
 */
export class JobRunner {
  readonly workerId: string;
  private readonly options: JobRunnerOptions;
  private readonly log: Logger;
  private readonly running = new Map<string, JobControl>();
  /** Splits this instance's time among the jobs it runs at once (concurrency > 1). */
  private readonly compute = new ComputeMeter();
  /** Records the ends of attempts, many per statement (ADR 0019). */
  private readonly completions: CompletionBatcher;
  private presenceTimer: ReturnType<typeof setTimeout> | undefined;
  private draining: Promise<number> | undefined;
  private wakeAgain = false;
  private stopping = false;
  private unlisten: (() => Promise<void>) | undefined;
  private unwatchListener: (() => void) | undefined;
  private poll: ReturnType<typeof setInterval> | undefined;
  private presence: ReturnType<typeof setInterval> | undefined;
  private succeeded = 0;
  private failed = 0;

  constructor(options: JobRunnerOptions) {
    this.options = options;
    this.workerId = options.workerId ?? `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.log = (options.log ?? createLogger({ component: 'worker' })).child({ worker: this.workerId });
    this.completions = new CompletionBatcher({ db: options.db, log: this.log });
  }

  private get leaseSeconds() {
    return this.options.leaseSeconds ?? 30;
  }

  /**
   * Listens for new jobs and cancel requests so both are acted on without polling. While the
   * listener is down or cannot deliver (a transaction-mode pooler), it polls for both instead,
   * and after a reconnect it catches up on the notifications it missed.
   */
  async start(): Promise<void> {
    const { db } = this.options;
    this.unlisten = await db.listen(JOBS_CHANNEL, (payload) => this.onNotification(payload));
    this.unwatchListener = db.onListenerChange((_state, reconnected) => {
      if (reconnected) this.catchUp();
      void this.reportPresence();
    });
    this.poll = setInterval(() => {
      if (listenerNeedsPolling(db.listenerState())) this.catchUp();
    }, LISTENER_POLL_INTERVAL_MS);
    this.poll.unref();
    await this.reportPresence();
    // An idle worker still reports in, so the Worker page can tell idle from dead.
    this.presence = setInterval(() => void this.reportPresence(), (this.leaseSeconds * 1000) / 3);
    this.presence.unref();
    if (this.wakesOnIdle) void this.wake();
  }

  private get wakesOnIdle() {
    return this.options.wakeOnIdle ?? true;
  }

  /** A nudge from a notification or a poll: a new pass of a running drain, or a drain if allowed. */
  private nudge() {
    if (this.draining) this.wakeAgain = true;
    else if (this.wakesOnIdle) void this.wake();
  }

  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Starts draining the queue if not already; a wake during a drain triggers another pass.
   * Resolves with how many jobs the drain finished, within `budgetMs` of work. `mayContinue`
   * (for a drain this call starts) is asked before each claim.
   */
  wake(budgetMs = Number.POSITIVE_INFINITY, mayContinue?: MayContinue): Promise<number> {
    if (this.stopping) return Promise.resolve(0);
    if (this.draining) {
      this.wakeAgain = true;
      return this.draining;
    }
    this.draining = this.drainLoop(budgetMs, mayContinue).finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  /**
   * Stops claiming, aborts what runs and gives those jobs back to the queue (not failed), as
   * Cloud Run's SIGTERM asks. Resolves when every job is released.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.presence);
    clearTimeout(this.presenceTimer);
    clearInterval(this.poll);
    this.unwatchListener?.();
    for (const control of this.running.values()) {
      control.reason ??= 'shutdown';
      control.abort.abort();
    }
    await this.draining?.catch(() => undefined);
    await this.unlisten?.().catch(() => undefined);
    await this.reportPresence(true).catch(() => undefined);
  }

  private async drainLoop(budgetMs: number, mayContinue?: MayContinue): Promise<number> {
    const deadline = Date.now() + budgetMs;
    const again = () => this.wakeAgain && !this.stopping && Date.now() < deadline;
    let total = 0;
    do {
      this.wakeAgain = false;
      try {
        total += await this.drain(deadline, mayContinue);
      } catch (error) {
        this.log.error('drain failed; the sweeper will wake this worker again', { error: String(error) });
        await this.reportDrainEnd();
        return total;
      }
      if (again()) continue;
      // A wake that arrives while the presence report is written finds this drain still on
      // (`draining` is set until this returns) and only sets `wakeAgain`: look at it once more.
      await this.reportDrainEnd();
    } while (again());
    return total;
  }

  /** The counts are exact when a drain ends (the reports during it are coalesced). */
  private async reportDrainEnd() {
    clearTimeout(this.presenceTimer);
    this.presenceTimer = undefined;
    await this.reportPresence();
  }

  /**
   * Runs jobs in `concurrency` slots until none is due or the deadline passes. Free slots are
   * filled by one claim of that many jobs, and their prompt inputs loaded in one query.
   */
  private async drain(deadline: number, mayContinue?: MayContinue): Promise<number> {
    const concurrency = this.options.concurrency ?? 1;
    const inFlight = new Set<Promise<void>>();
    let finished = 0;
    const oneFinished = async () => {
      await Promise.race(inFlight);
      // Jobs whose ends were recorded by one flush settle together: let them all free their slots.
      await new Promise((resolve) => setImmediate(resolve));
    };
    try {
      while (!this.stopping && Date.now() < deadline) {
        if (inFlight.size >= concurrency) {
          await oneFinished();
          continue;
        }
        if (mayContinue && !(await mayContinue())) break;
        const jobs = await claimJobs(this.options.db, this.workerId, this.leaseSeconds, concurrency - inFlight.size);
        if (jobs.length === 0) {
          // Nothing due now; a running job may still fail into a due retry, so look again after one ends.
          if (inFlight.size === 0) break;
          await oneFinished();
          continue;
        }
        // Not awaited here: each job is registered as running at once, so a stop() or a cancel
        // that comes while the prompts load reaches it.
        const requests = this.loadRequests(jobs);
        for (const job of jobs) {
          const running: Promise<void> = this.run(job, requests).then(() => {
            finished += 1;
            inFlight.delete(running);
          });
          inFlight.add(running);
        }
      }
    } finally {
      await Promise.all(inFlight);
    }
    return finished;
  }

  /** The claimed generations' prompt inputs in one query; a job left out loads its own. */
  private async loadRequests(jobs: JobRow[]): Promise<Map<string, GenerationRequest>> {
    try {
      return await loadGenerationRequests(
        this.options.db,
        jobs.filter((job) => job.kind !== 'analytics'),
      );
    } catch (error) {
      this.log.warn("loading the claimed jobs' prompts failed; each job loads its own", { error: String(error) });
      return new Map();
    }
  }

  private onNotification(payload: string) {
    const notification = parseJobsNotification(payload);
    if (!notification) return;
    if (notification.event === 'cancel_requested') {
      for (const job of notification.jobs) if (job.id) this.cancelRunning(job.id);
    } else if (notification.event === 'status' && notification.jobs.some((job) => job.status === 'pending')) {
      this.nudge();
    }
  }

  /** What notifications would have said: new jobs may be waiting, running ones may be cancelled. */
  private catchUp() {
    if (this.stopping) return;
    this.nudge();
    void this.checkCancelRequests();
  }

  private async checkCancelRequests() {
    if (this.running.size === 0) return;
    try {
      for (const id of await cancelRequestedAmong(this.options.db, [...this.running.keys()])) {
        this.cancelRunning(id);
      }
    } catch (error) {
      this.log.warn('cancel check failed; the heartbeat checks again', { error: String(error) });
    }
  }

  private cancelRunning(jobId: string) {
    const control = this.running.get(jobId);
    if (control) {
      control.reason ??= 'cancel';
      control.abort.abort();
    }
  }

  private async run(job: JobRow, requests: Promise<Map<string, GenerationRequest>>): Promise<void> {
    const control: JobControl = { abort: new AbortController() };
    this.running.set(job.id, control);
    this.presenceChanged();
    // The prompts of a claimed batch load in one shared query (loadRequests never rejects); the
    // job's compute and busy time start after it, as executeJob's clock does.
    const request = (await requests).get(job.id);
    const started = performance.now();
    this.compute.start(job.id);
    try {
      const execution = {
        db: this.options.db,
        job,
        workerId: this.workerId,
        leaseSeconds: this.leaseSeconds,
        prices: this.options.prices ?? DEFAULT_PRICES,
        progressIntervalMs: this.options.progressIntervalMs,
        computeShareMs: () => this.compute.shareMs(job.id),
        control,
        log: this.log,
        recorder: this.completions,
      };
      // Dispatch by kind: each kind's executor validates its payload and records its outcome.
      const result =
        job.kind === 'analytics'
          ? await executeAnalyticsJob(execution)
          : await executeJob({ ...execution, generator: this.options.generator, request });
      if (result.outcome === 'succeeded') this.succeeded += 1;
      if (result.outcome === 'failed') this.failed += 1;
      this.options.onOutcome?.(job, result, performance.now() - started);
    } catch (error) {
      this.log.error('job could not be recorded; its lease will expire and it will run again', {
        job: job.id,
        error: String(error),
      });
    } finally {
      this.compute.stop(job.id);
      this.running.delete(job.id);
      this.presenceChanged();
    }
  }

  /** What runs changed: reported within PRESENCE_COALESCE_MS, once for all changes until then. */
  private presenceChanged() {
    this.presenceTimer ??= setTimeout(() => {
      this.presenceTimer = undefined;
      void this.reportPresence();
    }, PRESENCE_COALESCE_MS);
    this.presenceTimer.unref?.();
  }

  private async reportPresence(stopped = false) {
    const [current] = this.running.keys();
    await workerHeartbeat(this.options.db, {
      id: this.workerId,
      host: os.hostname(),
      currentJobId: current ?? null,
      succeeded: this.succeeded,
      failed: this.failed,
      stopped,
      listener: this.options.db.listenerState(),
    }).catch((error) => this.log.warn('worker heartbeat failed', { error: String(error) }));
  }
}
