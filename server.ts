/**
 * `npm start`: the dashboard and API (the Remix build) on one Node server, the database
 * (PGlite under .data/ unless DATABASE_URL is set) migrated and seeded, and the worker running
 * in this same process unless EMBEDDED_WORKER=false. On Vercel the Remix build runs without
 * this file.
 */
import { createServer } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { broadcastDevReady, type ServerBuild } from '@remix-run/node';
import express from 'express';

import { describeDatabase, openDatabase } from './app/server/db/open.server';
import { ensureInitialStaff } from './app/server/auth/bootstrap.server';
import { CROSS_SITE_MESSAGE, mayChangeState } from './app/server/auth/same-origin.server';
import { addMissingHeadersOnWriteHead, securityHeaders } from './app/server/security-headers.server';
import { migrate } from './app/server/db/migrate.server';
import { isEmpty, seed } from './app/server/db/seed.server';
import { addDemoDataOnFirstStart } from './app/server/db/demo.server';
import { ConfigurationError, getEnv } from './app/server/env.server';
import { sweepOnce } from './app/server/services/sweep.server';
import { drainWithRuntime, installLocalResponseCache } from './app/server/cache-invalidation.server';
import { cachedReadsListener, cachedReadsMiddleware } from './app/server/cached-reads.server';
import { remixRequestHandler } from './app/server/remix-handler.server';
import { apiActionsListener } from './app/server/api-actions.server';
import { DEMO_LEARNER_ID } from './app/server/db/demo-learners.server';
import { issueLocalLearnerToken, issuesLocalLearnerTokens } from './app/server/learner-api.server';
import { createResponseCache } from './app/edge/response-cache';
import { createRuntime, setRuntime } from './app/server/runtime.server';
import { createJobRunner, type JobRunner } from './worker/job-runner';
import { createLogger } from './app/server/log.server';

const SWEEP_INTERVAL_MS = 5_000;
const CACHE_DRAIN_INTERVAL_MS = 1_000;

/**
 * How much of a request body that was answered before being read (a 413, a 401) is still read
 * and thrown away, and for how long, before the connection is closed.
 *
 * WARNING: closing a socket while the client is still sending makes the kernel answer with a
 * reset, and the client may then lose the response it had not read yet: Node's fetch saw
 * "other side closed" instead of a 413. Reading the rest first (nginx calls it a lingering
 * close) lets every client read the answer; the caps keep a client from holding us forever.
 */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 10_000;

/**
 * After a response, reads and discards what is left of its request body. Within the caps the
 * connection stays open for the next request; past them it is closed gently: our side ends
 * (the client sees the end after the response) and the rest is still read until the client
 * stops sending or DRAIN_MAX_MS passes.
 */
function drainUnreadBody(req: express.Request): void {
  if (req.complete || req.destroyed) return;
  // Remix's request stream was abandoned with the answer; stop it from buffering the rest.
  req.removeAllListeners('data');
  let drained = 0;
  const timer = setTimeout(() => req.socket.destroy(), DRAIN_MAX_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_MAX_BYTES && !req.socket.writableEnded) req.socket.end();
  });
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

async function main() {
  const env = loadEnvOrExit();
  const log = createLogger({ component: 'server' });

  const db = await openDatabase(env);
  const applied = await migrate(db);
  const fresh = await isEmpty(db);
  if (fresh) await seed(db);
  const demo = await addDemoDataOnFirstStart(db, env, fresh);
  const staffLines = await ensureInitialStaff(db, env);

  let runner: JobRunner | undefined;
  const runtime = createRuntime(env, db, () => void runner?.wake());
  if (env.EMBEDDED_WORKER) {
    runner = createJobRunner(runtime, env);
    await runner.start();
  }
  setRuntime(runtime);

  // The local sweeper, what Vercel Cron does every minute in production: expired leases go back to
  // the queue, jobs whose retry time has come wake the worker (their NOTIFY was sent when they were
  // scheduled, not when due), due rollouts are analysed, spend alerts and cache invalidations go out.
  const sweeper = setInterval(async () => {
    try {
      const result = await sweepOnce(runtime);
      if (result.reaped > 0) log.warn('reaped expired leases', { ...result });
      void runner?.wake();
    } catch (error) {
      log.error('sweep failed', { error: String(error) });
    }
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  const buildPath = path.resolve('build/index.js');
  const build = (await import(pathToFileURL(buildPath).href)) as ServerBuild;

  const app = express();
  app.disable('x-powered-by');
  // Every response carries the security headers (HSTS in production), static files and
  // resource routes included. Added as the headers go out, and only where missing: Remix
  // appends its own (documents, data) and would otherwise repeat them.
  const baseHeaders = securityHeaders(null);
  app.use((req, res, next) => {
    addMissingHeadersOnWriteHead(res, baseHeaders);
    res.once('finish', () => drainUnreadBody(req));
    next();
  });
  // Vercel's CDN caches chapter and profile reads by their headers and tags; here a small
  // in-process cache does, invalidated by the same outbox (cache_invalidations) every second.
  // It comes first, as the CDN does: a fresh hit is answered by `cachedReadsListener` before
  // Express (see below); a miss or a stale entry is filled here, before any file lookup or guard
  // (reads are safe methods, which the cross-site guard lets through anyway).
  const responseCache = createResponseCache();
  installLocalResponseCache(responseCache);
  const invalidations = setInterval(() => {
    drainWithRuntime(runtime).catch((error: Error) => log.warn('cache invalidation failed', { error: error.message }));
  }, CACHE_DRAIN_INTERVAL_MS);
  invalidations.unref();
  app.use(cachedReadsMiddleware(build, responseCache));
  // No file lives under /api/: the API skips the static lookup (a stat per request on libuv's
  // thread pool, measured at about 7% of the app's time under bench:edge).
  const staticFiles = express.static('public', { maxAge: '1h' });
  app.use('/build', express.static('public/build', { immutable: true, maxAge: '1y' }));
  app.use((req, res, next) => (req.path.startsWith('/api/') ? next() : staticFiles(req, res, next)));
  // Cross-site state changes are refused here with a clear 403, before Remix's own guard
  // (which answers 500) and before any action runs; actions check again (Vercel has no Express).
  const appOrigin = env.APP_ORIGIN ? new URL(env.APP_ORIGIN).origin : null;
  app.use((req, res, next) =>
    mayChangeState(req, appOrigin) ? next() : res.status(403).type('text/plain').send(CROSS_SITE_MESSAGE),
  );
  app.all('*', remixRequestHandler(build));

  // Without Supabase Auth, learner tokens are issued here; print one so the edge routes can be tried.
  const learnerToken = issuesLocalLearnerTokens(env)
    ? await issueLocalLearnerToken(env, DEMO_LEARNER_ID, { expiresInSeconds: 86_400 })
    : null;
  // In front of Express, as Vercel's CDN and router are in front of the functions: cached reads,
  // then the API's actions at fixed paths (issue 14, ADR 0026), then everything else.
  const actions = apiActionsListener({ build, baseHeaders, appOrigin, next: app });
  const server = createServer(cachedReadsListener({ cache: responseCache, baseHeaders, next: actions }));
  server.listen(env.PORT, () => {
    const lines = [
      '',
      `  Switchyard is running on http://localhost:${env.PORT}`,
      `  database: ${describeDatabase(env)}${applied.length ? ` (applied ${applied.length} migrations)` : ''}`,
      `  worker:   ${runner ? `in this process (${runner.workerId})` : 'not embedded (EMBEDDED_WORKER=false): run npm run worker'}`,
      `  generator: ${runtime.generator.name === 'anthropic' ? 'Anthropic API' : 'offline placeholder text (set ANTHROPIC_API_KEY for real generation)'}`,
      `  health:   http://localhost:${env.PORT}/healthz`,
      ...staffLines.map((line) => `  ${line}`),
      ...(learnerToken
        ? [
            `  learner:  a demo learner's token (24 h): curl -H 'Authorization: Bearer ${learnerToken}' http://localhost:${env.PORT}/api/user/profile`,
          ]
        : []),
      ...(demo
        ? [
            `  demo:     ${demo.chapters} demo chapters, ${demo.jobs} jobs and ${demo.learners} learners of made-up history (npm run demo:remove deletes them)`,
          ]
        : []),
      '',
    ];
    console.log(lines.join('\n'));
    if (build.mode === 'development') void broadcastDevReady(build);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    clearInterval(sweeper);
    clearInterval(invalidations);
    server.close();
    await runner?.stop();
    await db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

function loadEnvOrExit() {
  try {
    return getEnv();
  } catch (error) {
    if (error instanceof ConfigurationError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
