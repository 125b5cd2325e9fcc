import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { ChapterGenerator } from '../../app/domain/generation';
import type { Database } from '../../app/server/db/port.server';
import { reportingPressure } from '../../app/server/fleet.server';
import { silentLogger } from '../../app/server/log.server';
import { createWorkerServer } from '../../worker/http';
import { JobRunner } from '../../worker/job-runner';
import { freePort, runEntry } from './app-process';

/**
 * A local stand-in for Cloud Run's request-driven autoscaling of the worker service
 * (worker/service.yaml: containerConcurrency 1, minScale 0, maxScale N), so the fleet's
 * wake-ups can be measured end to end:
 *
 * - every request (POST /wake) goes to an idle instance; with none idle and fewer than
 *   `maxInstances`, a new instance starts, and the request waits its cold start;
 * - one request per instance at a time (concurrency 1); an instance is busy until the worker
 *   answers, whether or not the caller still listens (the app holds its wake-ups open anyway);
 * - with every instance busy and the maximum reached, a request waits up to `queueTimeoutMs`
 *   for one to free up, then gets 429 "no available instance", as Cloud Run answers;
 * - an instance idle for `idleMs` is shut down (SIGTERM): scale to zero;
 * - it records instance-seconds (start to stop) and billable seconds (request-based billing:
 *   start-up plus time serving a request), and the peak number of instances.
 *
 * Instances come from a launcher: a real worker process each (`workerProcessLauncher`, needs
 * PostgreSQL) or an in-process worker on any test database (`inProcessLauncher`).
 */

export interface InstanceHandle {
  url: string;
  stop(): Promise<void>;
}

export type LaunchInstance = () => Promise<InstanceHandle>;

export interface SimulatorOptions {
  launch: LaunchInstance;
  maxInstances?: number;
  coldStartMs?: number;
  idleMs?: number;
  queueTimeoutMs?: number;
  /**
   * Worker processes started ahead by `warm()`, not counted as instances nor billed: the cold
   * start is then the configured one, not this machine's process start-up (slower than a Cloud
   * Run one when six engineers share two cores). Without any, an instance launches on demand
   * and its cold start is the longer of the two.
   */
  standby?: number;
}

interface Instance {
  id: number;
  state: 'starting' | 'idle' | 'busy' | 'stopped';
  handle: InstanceHandle | null;
  createdAt: number;
  readyAt: number | null;
  stoppedAt: number | null;
  busySince: number | null;
  busyMs: number;
  requests: number;
  idleTimer: ReturnType<typeof setTimeout> | null;
}

interface Waiting {
  serve: (instance: Instance) => void;
  timer: ReturnType<typeof setTimeout>;
}

export interface SimulatorStats {
  /** Instances not shut down: starting, idle or busy. */
  instances: number;
  busy: number;
  peakInstances: number;
  started: number;
  requests: number;
  refused: number;
  /** Sum over instances of start to stop (or now). */
  instanceSeconds: number;
  /** Request-based billing: start-up plus time serving requests. */
  billableSeconds: number;
}

export async function startCloudRunSimulator(options: SimulatorOptions) {
  const maxInstances = options.maxInstances ?? 10;
  const coldStartMs = options.coldStartMs ?? 1000;
  const idleMs = options.idleMs ?? 2000;
  const queueTimeoutMs = options.queueTimeoutMs ?? 10_000;
  const instances: Instance[] = [];
  const waiting: Waiting[] = [];
  const standby: Promise<InstanceHandle>[] = [];
  let peakInstances = 0;
  let requests = 0;
  let refused = 0;
  let closed = false;

  const live = () => instances.filter((instance) => instance.state !== 'stopped');

  function startInstance(): Instance {
    const instance: Instance = {
      id: instances.length + 1,
      state: 'starting',
      handle: null,
      createdAt: Date.now(),
      readyAt: null,
      stoppedAt: null,
      busySince: null,
      busyMs: 0,
      requests: 0,
      idleTimer: null,
    };
    instances.push(instance);
    peakInstances = Math.max(peakInstances, live().length);
    const handle = standby.shift() ?? options.launch();
    void Promise.all([handle, new Promise((resolve) => setTimeout(resolve, coldStartMs))]).then(([ready]) => {
      instance.handle = ready;
      instance.readyAt = Date.now();
      if (closed || instance.state === 'stopped') return void ready.stop();
      instance.state = 'idle';
      release(instance);
    });
    return instance;
  }

  async function stopInstance(instance: Instance) {
    if (instance.state === 'stopped') return;
    instance.state = 'stopped';
    instance.stoppedAt = Date.now();
    if (instance.idleTimer) clearTimeout(instance.idleTimer);
    await instance.handle?.stop();
  }

  /** An instance became free: the longest-waiting request takes it, else it idles toward zero. */
  function release(instance: Instance) {
    const next = waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.serve(instance);
      return;
    }
    instance.state = 'idle';
    instance.idleTimer = setTimeout(() => {
      if (instance.state === 'idle') void stopInstance(instance);
    }, idleMs);
  }

  /** Resolves with the instance that will serve this request, or null after the queue timeout. */
  function acquire(): Promise<Instance | null> {
    const idle = instances.find((instance) => instance.state === 'idle');
    return new Promise((resolve) => {
      const take = (instance: Instance) => {
        if (instance.idleTimer) clearTimeout(instance.idleTimer);
        instance.state = 'busy';
        resolve(instance);
      };
      if (idle) return take(idle);
      const entry: Waiting = {
        serve: take,
        timer: setTimeout(() => {
          waiting.splice(waiting.indexOf(entry), 1);
          resolve(null);
        }, queueTimeoutMs),
      };
      waiting.push(entry);
      // Scale out for every waiting request beyond the instances already starting for others.
      const starting = instances.filter((instance) => instance.state === 'starting').length;
      if (waiting.length > starting && live().length < maxInstances) startInstance();
    });
  }

  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    requests += 1;
    const instance = await acquire();
    if (!instance) {
      refused += 1;
      response.writeHead(429, { 'content-type': 'text/plain' });
      response.end('Rate exceeded. The request was aborted because there was no available instance.');
      return;
    }
    instance.requests += 1;
    instance.busySince = Date.now();
    const done = () => {
      if (instance.busySince === null) return;
      instance.busyMs += Date.now() - instance.busySince;
      instance.busySince = null;
      if (instance.state === 'busy') release(instance);
    };
    const upstream = http.request(
      new URL(request.url ?? '/', instance.handle!.url),
      {
        method: request.method,
        headers: { ...request.headers, host: new URL(instance.handle!.url).host },
      },
      (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => body.push(chunk));
        answer.on('end', () => {
          done();
          if (!response.destroyed) {
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            response.end(Buffer.concat(body));
          }
        });
        answer.on('error', done);
      },
    );
    upstream.on('error', (error) => {
      done();
      if (!response.headersSent && !response.destroyed) {
        response.writeHead(503, { 'content-type': 'text/plain' });
        response.end(`The instance failed: ${error.message}`);
      }
    });
    upstream.end(Buffer.concat(chunks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  function stats(): SimulatorStats {
    const now = Date.now();
    const current = live();
    return {
      instances: current.length,
      busy: current.filter((instance) => instance.state === 'busy').length,
      peakInstances,
      started: instances.length,
      requests,
      refused,
      instanceSeconds: instances.reduce((sum, i) => sum + ((i.stoppedAt ?? now) - i.createdAt) / 1000, 0),
      billableSeconds: instances.reduce(
        (sum, i) =>
          sum +
          ((i.readyAt ?? now) - i.createdAt) / 1000 +
          (i.busyMs + (i.busySince === null ? 0 : now - i.busySince)) / 1000,
        0,
      ),
    };
  }

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    /** Fills the standby pool and waits until every process in it is ready. */
    async warm() {
      while (standby.length < (options.standby ?? 0)) standby.push(options.launch());
      await Promise.all(standby);
    },
    async close() {
      closed = true;
      for (const entry of waiting.splice(0)) clearTimeout(entry.timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(instances.map((instance) => stopInstance(instance)));
      await Promise.all(standby.splice(0).map(async (handle) => (await handle).stop()));
    },
  };
}

export type CloudRunSimulator = Awaited<ReturnType<typeof startCloudRunSimulator>>;

/**
 * One real worker process (`worker/main.ts`, as the image runs it) per instance, with CPU only
 * inside requests modelled by WORKER_IDLE_WAKE=false. Needs a PostgreSQL URL.
 */
export function workerProcessLauncher(env: Record<string, string>, startTimeoutMs = 60_000): LaunchInstance {
  return async () => {
    const port = await freePort();
    const { child, output, exited } = runEntry('worker/main.ts', {
      PORT: String(port),
      WORKER_IDLE_WAKE: 'false',
      ...env,
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}:\n${output()}`);
      const ok = await fetch(`${url}/healthz`)
        .then((response) => response.ok)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`worker did not start in ${startTimeoutMs / 1000} s:\n${output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
      url,
      async stop() {
        if (child.exitCode === null) child.kill('SIGTERM');
        await exited;
      },
    };
  };
}

/**
 * A worker in this process per instance (its own JobRunner and HTTP shell on a test database,
 * PGlite included), working only inside requests as on Cloud Run.
 */
export function inProcessLauncher(options: {
  db: Database;
  generator: ChapterGenerator;
  budgetMs?: number;
  leaseSeconds?: number;
}): LaunchInstance {
  let count = 0;
  return async () => {
    count += 1;
    const runner = new JobRunner({
      db: options.db,
      generator: reportingPressure(options.generator, options.db, silentLogger),
      workerId: `simulated-${count}-${Math.random().toString(36).slice(2, 8)}`,
      leaseSeconds: options.leaseSeconds ?? 30,
      log: silentLogger,
      wakeOnIdle: false,
    });
    await runner.start();
    const server = createWorkerServer({
      db: options.db,
      runner,
      budgetMs: options.budgetMs ?? 840_000,
      authenticate: async () => ({ ok: true, caller: 'simulator' }),
      log: silentLogger,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      async stop() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await runner.stop();
      },
    };
  };
}
