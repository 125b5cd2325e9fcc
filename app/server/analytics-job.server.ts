import { ZERO_USAGE } from '~/domain/generation';
import { parseJobPayload } from '~/domain/job-kinds';
import { cloudRunCostMicros, vercelCostMicros } from '~/domain/prices';

import { keepLease, type ExecuteJobOptions, type ExecutionResult } from './job-execution.server';
import { computeLearningAnalytics } from './learning-analytics.server';
import { bookLostAttempt, completeAnalyticsJob, failJob, releaseJob, type AttemptUsage } from './queue.server';
import { streamedTextWriter } from './streamed-text.server';

/**
 * Runs one claimed analytics job: learning analytics for its payload's date range (the same SQL
 * as the Learning page, learning-analytics.server.ts), stored in learning_analytics_results. Its
 * steps stream as progress text, as a generation's tokens do, so the Jobs pages and the live feed
 * show it moving; its lease is kept and a cancel stops it. No model is called: the attempt costs
 * only its compute, metered like a generation's.
 */
export async function executeAnalyticsJob(options: Omit<ExecuteJobOptions, 'generator'>): Promise<ExecutionResult> {
  const { db, job, workerId, control } = options;
  const log = options.log.child({ job: job.id, attempt: job.attempts, kind: job.kind });
  const startedAt = performance.now();
  const releaseLease = keepLease(options, log);
  const steps: string[] = [];
  const writeProgress = streamedTextWriter(db, { jobId: job.id, workerId, attempt: job.attempts });
  const usage = (): AttemptUsage => {
    const busyMs = performance.now() - startedAt;
    return {
      ...ZERO_USAGE,
      generator: null,
      busyMs,
      costMicros: {
        cloudRun:
          job.destination === 'cloud' ? cloudRunCostMicros(options.prices, options.computeShareMs?.() ?? busyMs) : 0,
        vercel: job.destination === 'edge' ? vercelCostMicros(options.prices, busyMs) : 0,
      },
    };
  };
  const step = async (text: string) => {
    steps.push(text);
    await writeProgress(steps.join('\n'), steps.length, usage());
    if (control.abort.signal.aborted) throw new Error('Analytics computation aborted.');
  };

  try {
    const parsed = parseJobPayload('analytics', job.payload);
    if (!parsed.ok) {
      const status = await failJob(db, job.id, workerId, {
        code: 'invalid_payload',
        message: `This analytics job's payload is not valid (${parsed.message}); queue a new one with a valid range.`,
        retryable: false,
        usage: usage(),
      });
      log.warn('analytics job refused: invalid payload', { error: parsed.message });
      return { outcome: status === 'failed' ? 'failed' : 'abandoned', usage: ZERO_USAGE };
    }
    const range = parsed.payload;
    await step(
      `1/3 Computing completion funnels, time to complete and generation cost for ${range.from} to ${range.to}`,
    );
    const view = await computeLearningAnalytics(db, range);
    await step(`2/3 Computed ${view.courses.length} courses and ${view.chapters.length} chapters`);
    await step('3/3 Writing the result');
    const completed = await completeAnalyticsJob(db, job.id, workerId, view, usage());
    if (!completed) await bookLostAttempt(db, job.id, workerId, usage());
    log.info(completed ? 'analytics job succeeded' : 'analytics result discarded: lease lost', {
      courses: view.courses.length,
      chapters: view.chapters.length,
      ms: Math.round(performance.now() - startedAt),
    });
    return { outcome: completed ? 'succeeded' : 'abandoned', usage: ZERO_USAGE };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (control.reason === 'shutdown') {
      const status = await releaseJob(db, job.id, workerId, usage());
      log.info('analytics job released for another worker', { status });
      return { outcome: 'released', usage: ZERO_USAGE };
    }
    if (control.reason === 'lease_lost') {
      await bookLostAttempt(db, job.id, workerId, usage());
      return { outcome: 'abandoned', usage: ZERO_USAGE };
    }
    const status = await failJob(db, job.id, workerId, {
      code: control.reason === 'cancel' ? 'aborted' : 'worker_error',
      message,
      retryable: control.reason !== 'cancel',
      usage: usage(),
    });
    if (status === null) await bookLostAttempt(db, job.id, workerId, usage());
    log.warn('analytics job attempt ended', { status, error: message });
    return { outcome: status === null || status === 'running' ? 'abandoned' : status, usage: ZERO_USAGE };
  } finally {
    releaseLease();
  }
}
