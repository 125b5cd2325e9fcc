/**
 * npm run bench:submit — concurrent POST /api/content/generate-chapter against the running app
 * (the production build served by server.ts) on PostgreSQL, with autocannon, and in the same run
 * the same load against a bare `node:http` + `pg` server doing the same SQL (token lookup,
 * chapter lookup, `submit_job`) one transaction per request, in its own process as the app is,
 * each on a fresh database of its own on the same server, each after an unmeasured warm-up of
 * the same load. Prints req/s, latency percentiles and server CPU per request of both and the
 * app's ratio to the baseline. Targets (issue 18): ≥ 2× the baseline's throughput, p99 ≤ 50 ms at 50 connections.
 */
import autocannon from 'autocannon';

import { createApiToken } from '../../app/server/auth/api-tokens.server';
import { createStaff } from '../../app/server/services/staff.server';
import { startApp } from '../support/app-process';
import { cpuMs, fmt, freshDatabase, manyChapters, startBareServer } from './support';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const POOL_SIZE = 20;
/** Each side first runs this long unmeasured (connections opened, code compiled, pools full). */
const WARM_UP_SECONDS = 2;

interface Figures {
  requests: number;
  ok: number;
  other: number;
  errors: number;
  throughput: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** The server process's CPU time (user + system) per answered request. */
  cpuMsPerRequest: number;
}

/** A fresh database with 500 chapters and one submit token. */
async function prepare(name: string): Promise<{ url: string; token: string; chapters: string[] }> {
  const { db, url } = await freshDatabase(name, 2);
  const chapters = await manyChapters(db, 500);
  const staffId = await createStaff(db, 'system', { email: 'bench@example.com', displayName: 'Bench', role: 'admin' });
  const { token } = await createApiToken(
    db,
    { id: staffId, email: 'bench@example.com', displayName: 'Bench', role: 'admin' },
    { name: 'bench', scopes: ['submit'] },
  );
  await db.close();
  return { url, token, chapters };
}

/** The submit load against `url` after its warm-up, with the server's (`pid`) CPU time over it. */
async function load(url: string, token: string, chapters: string[], pid: number | undefined): Promise<Figures> {
  let i = 0;
  const run = (duration: number) =>
    autocannon({
      url,
      method: 'POST',
      connections: CONNECTIONS,
      duration,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      requests: [
        {
          setupRequest: (request) => ({
            ...request,
            body: JSON.stringify({ chapter_id: chapters[i++ % chapters.length] }),
          }),
        },
      ],
    });
  await run(WARM_UP_SECONDS);
  const before = cpuMs(pid);
  const result = await run(SECONDS);
  const cpuUsed = cpuMs(pid) - before;
  const latency = result.latency as unknown as Record<string, number>;
  return {
    requests: result.requests.total,
    ok: result['2xx'],
    other: result.non2xx,
    errors: result.errors,
    throughput: result.requests.average,
    p50: latency.p50,
    p90: latency.p90,
    p99: latency.p99,
    max: latency.max,
    cpuMsPerRequest: cpuUsed / result.requests.total,
  };
}

function print(label: string, figures: Figures) {
  console.log(`  ${label}`);
  console.log(
    `    requests      ${figures.requests} (${figures.ok} answered 2xx, ${figures.other} other, ${figures.errors} errors)`,
  );
  console.log(`    throughput    ${fmt(figures.throughput, 0)} req/s`);
  console.log(
    `    latency       p50 ${fmt(figures.p50)} ms, p90 ${fmt(figures.p90)} ms, p99 ${fmt(figures.p99)} ms, max ${fmt(figures.max)} ms`,
  );
  console.log(`    server CPU    ${fmt(figures.cpuMsPerRequest * 1000, 0)} µs per request`);
}

async function main() {
  const appDb = await prepare('switchyard_bench_submit');
  const app = await startApp({
    DATABASE_URL: appDb.url,
    EMBEDDED_WORKER: 'false',
    DATABASE_POOL_SIZE: String(POOL_SIZE),
  });
  let ours: Figures;
  try {
    ours = await load(`${app.url}/api/content/generate-chapter`, appDb.token, appDb.chapters, app.child.pid);
  } finally {
    await app.stop();
  }

  const bareDb = await prepare('switchyard_bench_submit_bare');
  const bare = await startBareServer('test/bench/bare-submit-server.ts', {
    DATABASE_URL: bareDb.url,
    DATABASE_POOL_SIZE: String(POOL_SIZE),
  });
  let baseline: Figures;
  try {
    baseline = await load(`${bare.url}/submit`, bareDb.token, bareDb.chapters, bare.pid);
  } finally {
    await bare.stop();
  }

  console.log(
    `bench:submit  connections=${CONNECTIONS} duration=${SECONDS}s each, pool ${POOL_SIZE}, PostgreSQL (a shared, noisy machine: compare within one run)`,
  );
  print('Switchyard app (production build, worker not embedded)', ours);
  print('baseline: bare node:http + pg in its own process, same SQL, one transaction per request', baseline);
  console.log(
    `  ratio         throughput ${fmt(ours.throughput / baseline.throughput)}× the baseline (target ≥ 2), p99 ${fmt(ours.p99)} ms (target ≤ 50), p50 ${fmt(ours.p50 / baseline.p50)}× the baseline's, server CPU per request ${fmt(ours.cpuMsPerRequest / baseline.cpuMsPerRequest)}×`,
  );
}

void main();
