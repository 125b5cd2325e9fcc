import http from 'node:http';

import type { Database } from '../app/server/db/port.server';
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
        options.log.info('wake-up', { caller: auth.caller });
        const processed = await options.runner.wake(options.budgetMs);
        send(200, { processed, worker: options.runner.workerId });
      } else {
        send(404, { error: { code: 'not_found', message: `No route for ${request.method} ${url.pathname}.` } });
      }
    } catch (error) {
      send(500, { error: { code: 'internal', message: (error as Error).message } });
    }
  });
}
