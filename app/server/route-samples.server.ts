import { routeHeaders, routeRequest, type StickyKeys } from '~/domain/routing';
import type { RouteSample } from '~/edge/learner-api';

import type { Queryable } from './db/port.server';
import { createLogger } from './log.server';
import { activeRoutingConfig } from './routing-config.server';
import type { Runtime } from './runtime.server';

/**
 * Route samples are written in batches (every 250 ms or 200 samples), not one insert per
 * request: the sample must never add a round trip to the route it measures.
 */
export function createSampleRecorder(db: Queryable, flushMs = 250, maxBatch = 200) {
  const log = createLogger({ component: 'route-samples' });
  let pending: (RouteSample & { at: string })[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let writing: Promise<void> = Promise.resolve();
  const flush = () => {
    writing = writing.then(write);
    return writing;
  };
  const write = async () => {
    timer = null;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    try {
      await db.query(
        `insert into public.api_route_samples (at, route, method, destination, rule_id, config_version, status, latency_ms)
         select (s ->> 'at')::timestamptz, s ->> 'route', s ->> 'method', s ->> 'destination', s ->> 'ruleId',
                (s ->> 'configVersion')::int, (s ->> 'status')::int, (s ->> 'latencyMs')::real
         from jsonb_array_elements($1::jsonb) as s`,
        [JSON.stringify(batch)],
      );
    } catch (error) {
      log.warn('route samples were not recorded', { error: (error as Error).message, samples: batch.length });
    }
  };
  return {
    record(sample: RouteSample) {
      pending.push({ ...sample, at: new Date().toISOString() });
      if (pending.length >= maxBatch) void flush();
      else timer ??= setTimeout(() => void flush(), flushMs);
    },
    /** Writes what is pending now (tests, shutdown). */
    async flush() {
      if (timer) clearTimeout(timer);
      timer = null;
      await flush();
    },
  };
}

export type SampleRecorder = ReturnType<typeof createSampleRecorder>;

// On globalThis: the Remix build and the server entry (or a test) are separate module graphs
// that must share one recorder per runtime, or a flush in one misses the other's samples.
const RECORDERS = Symbol.for('switchyard.routeSamples');
const recorders = ((globalThis as { [RECORDERS]?: WeakMap<Runtime, SampleRecorder> })[RECORDERS] ??= new WeakMap());

/** The process's route-sample recorder (one per runtime). */
export function routeSamples(runtime: Runtime): SampleRecorder {
  let recorder = recorders.get(runtime);
  if (!recorder) {
    recorder = createSampleRecorder(runtime.db);
    recorders.set(runtime, recorder);
  }
  return recorder;
}

/**
 * Runs a Node route's answer under routeRequest's decision: the answer carries the `x-route-*`
 * headers, and the decision and latency are recorded for the Latency page, as the edge handlers do.
 */
export async function withRouteSample(
  runtime: Runtime,
  request: Request,
  route: string,
  keys: StickyKeys,
  answer: () => Promise<Response>,
): Promise<Response> {
  const started = performance.now();
  const active = await activeRoutingConfig(runtime);
  const decision = routeRequest(request, active.config, keys, active.version);
  let response: Response;
  try {
    response = await answer();
  } catch (thrown) {
    if (!(thrown instanceof Response)) throw thrown;
    response = thrown;
  }
  for (const [name, value] of Object.entries(routeHeaders(decision))) response.headers.set(name, value);
  routeSamples(runtime).record({
    route,
    method: request.method,
    destination: decision.destination,
    ruleId: decision.reason.ruleId,
    configVersion: decision.reason.configVersion,
    status: response.status,
    latencyMs: performance.now() - started,
  });
  return response;
}
