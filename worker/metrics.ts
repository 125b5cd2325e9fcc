import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { ListenerState } from '../app/server/db/port.server';
import type { ExecutionResult } from '../app/server/job-execution.server';
import type { JobRow } from '../app/server/queue.server';

/** The worker's Prometheus metrics, served at GET /metrics. */
export function createWorkerMetrics(inFlight: () => number, listener?: () => ListenerState) {
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

  if (listener) {
    new Gauge({
      name: 'switchyard_worker_listener_connected',
      help: 'Whether the LISTEN connection is up (1) or reconnecting (0).',
      registers: [registry],
      collect() {
        this.set(listener().connection === 'connected' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'switchyard_worker_listener_polling',
      help: 'Whether this worker polls for new jobs and cancels (1) because LISTEN is down or does not deliver.',
      registers: [registry],
      collect() {
        const state = listener();
        this.set(state.connection !== 'connected' || state.mode !== 'listen' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'switchyard_worker_listener_down_seconds',
      help: 'Seconds the LISTEN connection has been reconnecting; 0 while connected.',
      registers: [registry],
      collect() {
        const state = listener();
        this.set(state.connection === 'reconnecting' ? (Date.now() - state.since.getTime()) / 1000 : 0);
      },
    });
    new Gauge({
      name: 'switchyard_worker_listener_reconnects',
      help: 'Times the LISTEN connection has come back since the worker started.',
      registers: [registry],
      collect() {
        this.set(listener().reconnects);
      },
    });
  }

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
