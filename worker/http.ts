import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';

import type { Database } from '../app/server/db/port.server';
import { checkHealth } from '../app/server/presenters/health.server';
import type { JobRunner } from './job-runner';

export interface WorkerServerOptions {
  db: Database;
  runner: JobRunner;
  budgetMs: number;
  /** Without a secret, POST /wake is refused; the worker still wakes on NOTIFY. */
  wakeSecret?: string;
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
      } else if (request.method === 'POST' && url.pathname === '/wake') {
        if (!isAuthorized(request.headers.authorization, options.wakeSecret)) {
          send(401, { error: 'unauthorized', message: 'POST /wake needs Authorization: Bearer <WORKER_WAKE_SECRET>.' });
          return;
        }
        const processed = await options.runner.wake(options.budgetMs);
        send(200, { processed, worker: options.runner.workerId });
      } else {
        send(404, { error: 'not_found', message: `No route for ${request.method} ${url.pathname}.` });
      }
    } catch (error) {
      send(500, { error: 'internal', message: (error as Error).message });
    }
  });
}

function isAuthorized(header: string | undefined, secret: string | undefined): boolean {
  if (!secret || !header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const expected = Buffer.from(secret);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
