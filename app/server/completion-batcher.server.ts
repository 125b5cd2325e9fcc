import type { JobStatus } from '~/domain/job-status';

import type { Queryable } from './db/port.server';
import type { Logger } from './log.server';
import {
  completeJob,
  completeJobs,
  failJob,
  failJobs,
  type AttemptFailure,
  type CompletionResult,
} from './queue.server';

/** How an attempt's end is recorded: at once (completeJob, failJob) or batched (CompletionBatcher). */
export interface AttemptRecorder {
  /** True once the success is committed; false when the job's lease was no longer this worker's. */
  complete(jobId: string, workerId: string, result: CompletionResult): Promise<boolean>;
  /** The job's new status once committed, or null when its lease was no longer this worker's. */
  fail(jobId: string, workerId: string, failure: AttemptFailure): Promise<JobStatus | null>;
}

/** One statement per attempt's end: the edge path, which answers one request with one job. */
export function immediateRecorder(db: Queryable): AttemptRecorder {
  return {
    complete: (jobId, workerId, result) => completeJob(db, jobId, workerId, result),
    fail: (jobId, workerId, failure) => failJob(db, jobId, workerId, failure),
  };
}

interface Pending<Item, Answer> {
  item: Item & { jobId: string; workerId: string };
  resolve: (answer: Answer) => void;
  reject: (error: unknown) => void;
}

export interface CompletionBatcherOptions {
  db: Queryable;
  /** A flush starts once this many results wait (default 200). */
  maxBatch?: number;
  /** Or this long after the first result of a batch arrived (default 2 ms). */
  lingerMs?: number;
  log?: Logger;
}

/**
 * The worker's completion batcher (ADR 0019), as graphile-worker batches its completes: the
 * attempts that end within a few milliseconds of each other are recorded together, completes in
 * one complete_jobs statement and failures in one fail_jobs statement, one flush at a time (the
 * next batch fills while one is written). Each caller's promise settles only after its flush
 * has committed, so a job is done for the worker only once it is durable; a worker that dies
 * with results still buffered loses nothing: those jobs are still running under its lease, and
 * the reaper takes them back.
 *
 * Lease ownership is checked per job inside the statement: a job whose lease was lost is answered
 * false (or null) alone. If a whole batch fails (a result PostgreSQL cannot store, a lost
 * connection), each of its results is tried again on its own, so one bad result fails only itself.
 */
export class CompletionBatcher implements AttemptRecorder {
  private readonly db: Queryable;
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private readonly log: Logger | undefined;
  private completes: Pending<CompletionResult, boolean>[] = [];
  private failures: Pending<AttemptFailure, JobStatus | null>[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> | undefined;

  constructor(options: CompletionBatcherOptions) {
    this.db = options.db;
    this.maxBatch = options.maxBatch ?? 200;
    this.lingerMs = options.lingerMs ?? 2;
    this.log = options.log;
  }

  complete(jobId: string, workerId: string, result: CompletionResult): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.completes.push({ item: { ...result, jobId, workerId }, resolve, reject });
      this.scheduleFlush();
    });
  }

  fail(jobId: string, workerId: string, failure: AttemptFailure): Promise<JobStatus | null> {
    return new Promise((resolve, reject) => {
      this.failures.push({ item: { ...failure, jobId, workerId }, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Results waiting for a flush (not yet sent). */
  get buffered(): number {
    return this.completes.length + this.failures.length;
  }

  /** Writes everything buffered now; resolves when nothing is buffered or being written. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.flushing || this.buffered > 0) {
      if (this.flushing) await this.flushing;
      else this.startFlush();
    }
  }

  private scheduleFlush() {
    if (this.flushing) return; // the running flush starts the next one when it ends
    if (this.buffered >= this.maxBatch) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.startFlush();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        if (!this.flushing) this.startFlush();
      }, this.lingerMs);
    }
  }

  private startFlush() {
    const completes = this.completes.splice(0, this.maxBatch);
    const failures = this.failures.splice(0, this.maxBatch);
    if (completes.length === 0 && failures.length === 0) return;
    this.flushing = Promise.all([
      this.write(completes, (items) => completeJobs(this.db, items), false),
      this.write(failures, (items) => failJobs(this.db, items), null),
    ]).then(() => {
      this.flushing = undefined;
      // What arrived during the flush goes now, as one batch.
      if (this.buffered > 0) this.startFlush();
    });
  }

  private async write<Item, Answer>(
    batch: Pending<Item, Answer>[],
    statement: (items: Pending<Item, Answer>['item'][]) => Promise<Map<string, Answer>>,
    refused: Answer,
  ): Promise<void> {
    if (batch.length === 0) return;
    try {
      const answers = await statement(batch.map((entry) => entry.item));
      for (const entry of batch) entry.resolve(answers.get(entry.item.jobId) ?? refused);
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      this.log?.warn('a batch of attempt results failed; recording each on its own', {
        results: batch.length,
        error: String(error),
      });
      for (const entry of batch) await this.write([entry], statement, refused);
    }
  }
}
