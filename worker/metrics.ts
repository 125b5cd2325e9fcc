import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { ExecutionResult } from '../app/server/job-execution.server';
import type { JobRow } from '../app/server/queue.server';

/** The worker's Prometheus metrics, served at GET /metrics. */
export function createWorkerMetrics(inFlight: () => number) {
  const registry = new Registry();
  const jobs = new Counter({
    name: 'switchyard_worker_jobs_total',
    help: 'Job attempts finished by this worker, by outcome.',
    labelNames: ['outcome', 'model'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'switchyard_worker_job_duration_seconds',
    help: 'Wall time of one job attempt, from claim to recorded outcome.',
    labelNames: ['outcome'] as const,
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900],
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'switchyard_worker_tokens_total',
    help: 'Tokens spent by this worker, by kind.',
    labelNames: ['kind', 'model'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'switchyard_worker_jobs_in_flight',
    help: 'Jobs this worker is running now.',
    registers: [registry],
    collect() {
      this.set(inFlight());
    },
  });

  return {
    registry,
    observe(job: JobRow, result: ExecutionResult, durationMs: number) {
      jobs.inc({ outcome: result.outcome, model: job.model });
      duration.observe({ outcome: result.outcome }, durationMs / 1000);
      const { usage } = result;
      tokens.inc({ kind: 'input', model: job.model }, usage.inputTokens);
      tokens.inc({ kind: 'output', model: job.model }, usage.outputTokens);
      tokens.inc({ kind: 'cache_write', model: job.model }, usage.cacheWrite5mTokens + usage.cacheWrite1hTokens);
      tokens.inc({ kind: 'cache_read', model: job.model }, usage.cacheReadTokens);
    },
  };
}
