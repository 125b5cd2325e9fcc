import http from 'node:http';

import type { Database } from '../app/server/db/port.server';
import { finishWakeUp, pickUpWakeUp, wakeUpMayContinue } from '../app/server/fleet.server';
import { checkHealth } from '../app/server/presenters/health.server';
import type { Registry } from 'prom-client';

import type { JobRunner } from './job-runner';
import type { Logger } from '../app/server/log.server';
import type { WakeAuthResult } from './wake-auth';

export interface WorkerServerOptions {
  db: Database;
  runner: JobRunner;
  budgetMs: number;
  /** Decides who may POST /wake (see wake-auth.ts); the worker also wakes on NOTIFY. */
  authenticate: (authorization: string | undefined) => Promise<WakeAuthResult>;
  log: Logger;
  metrics?: Registry;
}

/**
 * The worker's HTTP shell for Cloud Run. POST /wake keeps the request open while the worker
 * drains the queue (Cloud Run only gives an instance CPU while it serves a request), then
 * answers with how many jobs it finished. GET /healthz answers for the load balancer.
 */
export function createWorkerServer(options: WorkerServerOptions): http.Server {
  return http.createServer(async (request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    };
    try {
      const url = new URL(request.url ?? '/', 'http://worker');
      if (request.method === 'GET' && url.pathname === '/healthz') {
        const health = await checkHealth(options.db);
        send(health.ok ? 200 : 503, { ...health, inFlight: options.runner.inFlight, worker: options.runner.workerId });
      } else if (request.method === 'GET' && url.pathname === '/metrics' && options.metrics) {
        response.writeHead(200, { 'content-type': options.metrics.contentType });
        response.end(await options.metrics.metrics());
      } else if (request.method === 'POST' && url.pathname === '/wake') {
        const auth = await options.authenticate(request.headers.authorization);
        if (!auth.ok) {
          options.log.warn('wake-up refused', { reason: auth.reason });
          send(401, { error: { code: 'unauthorized', message: `Wake-up refused: ${auth.reason}.` } });
          return;
        }
        const wakeupId = await readWakeUpId(request);
        options.log.info('wake-up', { caller: auth.caller, wakeup: wakeupId });
        if (!wakeupId) {
          const processed = await options.runner.wake(options.budgetMs);
          send(200, { processed, worker: options.runner.workerId });
          return;
        }
        // A tracked wake-up of the fleet: it counts as in flight until this request ends, and
        // between jobs it ends early when the fleet steps down under back-pressure.
        const { db, runner } = options;
        await pickUpWakeUp(db, wakeupId, runner.workerId, Math.ceil(options.budgetMs / 1000));
        let steppedDown = false;
        let processed = 0;
        try {
          processed = await runner.wake(options.budgetMs, async () => {
            const ok = await wakeUpMayContinue(db, wakeupId).catch(() => true);
            if (!ok) steppedDown = true;
            return ok;
          });
        } finally {
          await finishWakeUp(db, wakeupId, steppedDown ? 'stepped_down' : 'drained', processed).catch((error) =>
            options.log.warn('wake-up could not be closed; it expires by itself', { error: String(error) }),
          );
        }
        send(200, { processed, worker: runner.workerId, wakeup: wakeupId, steppedDown });
      } else {
        send(404, { error: { code: 'not_found', message: `No route for ${request.method} ${url.pathname}.` } });
      }
    } catch (error) {
      send(500, { error: { code: 'internal', message: (error as Error).message } });
    }
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The fleet's wake-up id from the body `{"wakeup": "<uuid>"}`, or null (a plain wake-up). */
async function readWakeUpId(request: http.IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 4096) return null;
    chunks.push(chunk as Buffer);
  }
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { wakeup?: unknown };
    return typeof body.wakeup === 'string' && UUID.test(body.wakeup) ? body.wakeup : null;
  } catch {
    return null;
  }
}
