/**
 * npm run bench:edge — the learner edge routes against the running app (the production build
 * served by server.ts, with its in-process response cache) on PostgreSQL, 50 concurrent
 * connections each: a cached profile GET (each learner's first read fills the cache) and a
 * progress POST (a new client_event_id every time), each after an unmeasured warm-up of the same
 * load. Prints latency percentiles.
 * Goals: p99 ≤ 15 ms for the cached profile GET, ≤ 25 ms for the progress POST.
 *
 * The machine is shared and noisy, so each load also runs, in the same run and right before,
 * against a bare `node:http` + `pg` server doing the same SQL (`bare-edge-server.ts`, in its own
 * process like the app), and the app's ratio to it is printed: the ratio is the figure to
 * compare between runs, the absolute one only on a quiet machine.
 *
 * `BENCH_EDGE_LOADS=profile` (or `progress`) runs one of the two loads.
 */
import { randomUUID } from 'node:crypto';

import autocannon from 'autocannon';

import { parseEnv } from '../../app/server/env.server';
import { issueLocalLearnerToken } from '../../app/server/learner-api.server';
import { startApp } from '../support/app-process';
import { cpuMs, fmt, freshDatabase, manyChapters, startBareServer } from './support';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Each load first runs this long unmeasured (connections opened, code compiled, pools full). */
const WARM_UP_SECONDS = 2;
const POOL_SIZE = 20;
const LEARNERS = 200;
const LEARNER_JWT_SECRET = 'bench-edge-learner-secret-of-32-chars!!';
/** `BENCH_EDGE_LOADS=profile` (or `progress`) runs one load only; both by default. */
const LOADS = (process.env.BENCH_EDGE_LOADS ?? 'profile,progress').split(',').map((load) => load.trim());
/** A suffix for the database's fixed name, so two people benching at once do not drop each other's. */

type Latency = Record<string, number>;

interface Figures {
  total: number;
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

function figures(result: autocannon.Result, cpuMsUsed: number): Figures {
  const latency = result.latency as unknown as Latency;
  return {
    total: result.requests.total,
    ok: result['2xx'],
    other: result.non2xx,
    errors: result.errors,
    throughput: result.requests.average,
    p50: latency.p50,
    p90: latency.p90,
    p99: latency.p99,
    max: latency.max,
    cpuMsPerRequest: cpuMsUsed / result.requests.total,
  };
}

function report(name: string, app: Figures, bare: Figures, goal: number) {
  const line = (label: string, f: Figures) =>
    console.log(
      `    ${label.padEnd(9)} ${fmt(f.throughput, 0).padStart(6)} req/s  p50 ${fmt(f.p50, 1).padStart(6)}  p90 ${fmt(f.p90, 1).padStart(6)}  p99 ${fmt(f.p99, 1).padStart(6)}  max ${fmt(f.max, 0).padStart(5)} ms  cpu ${fmt(f.cpuMsPerRequest * 1000, 0).padStart(4)} µs/req  (${f.total} requests, ${f.ok} 2xx, ${f.other} other, ${f.errors} errors)`,
    );
  console.log(`  ${name}`);
  line('baseline', bare);
  line('app', app);
  console.log(
    `    app/baseline: throughput ${fmt(app.throughput / bare.throughput)}×, p50 ${fmt(app.p50 / bare.p50)}×, p99 ${fmt(app.p99 / bare.p99)}×, cpu/req ${fmt(app.cpuMsPerRequest / bare.cpuMsPerRequest)}×;  app p99 ${fmt(app.p99, 1)} ms against the goal of ${goal} ms (${fmt(app.p99 / goal)}× the goal)`,
  );
}

async function main() {
  const { db, url } = await freshDatabase('switchyard_bench_edge', 2);
  const chapters = await manyChapters(db, 200);
  await db.close();
  const env = parseEnv({ NODE_ENV: 'production', LEARNER_JWT_SECRET });
  const tokens = await Promise.all(
    Array.from({ length: LEARNERS }, () => issueLocalLearnerToken(env, randomUUID(), { expiresInSeconds: 3600 })),
  );

  const app = await startApp({
    DATABASE_URL: url,
    EMBEDDED_WORKER: 'false',
    DATABASE_POOL_SIZE: String(POOL_SIZE),
    LEARNER_JWT_SECRET,
    // The bench measures the path, not the limiter: every learner sends far more than a client would.
    LEARNER_RATE_LIMIT_PER_MINUTE: '100000',
  });
  const bare = await startBareServer('test/bench/bare-edge-server.ts', {
    DATABASE_URL: url,
    DATABASE_POOL_SIZE: String(POOL_SIZE),
  });

  /** The measured load, with the server's CPU time over it. */
  const measured = async (pid: number | undefined, load: () => Promise<autocannon.Result>) => {
    const before = cpuMs(pid);
    const result = await load();
    return figures(result, cpuMs(pid) - before);
  };

  const profileLoad = async (base: string, pid: number | undefined) => {
    // Fill the cache: each learner's first read is a miss.
    await Promise.all(
      tokens.map((token) => fetch(`${base}/api/user/profile`, { headers: { authorization: `Bearer ${token}` } })),
    );
    let i = 0;
    const load = (duration: number) =>
      autocannon({
        url: `${base}/api/user/profile`,
        connections: CONNECTIONS,
        duration,
        requests: [
          {
            setupRequest: (request) => ({
              ...request,
              headers: { ...request.headers, authorization: `Bearer ${tokens[i++ % tokens.length]}` },
            }),
          },
        ],
      });
    await load(WARM_UP_SECONDS);
    return measured(pid, () => load(SECONDS));
  };

  const progressLoad = async (base: string, pid: number | undefined, eventPrefix: string) => {
    let n = 0;
    const load = (duration: number) =>
      autocannon({
        url: `${base}/api/progress/update`,
        method: 'POST',
        connections: CONNECTIONS,
        duration,
        requests: [
          {
            setupRequest: (request) => {
              n += 1;
              return {
                ...request,
                headers: {
                  ...request.headers,
                  'content-type': 'application/json',
                  authorization: `Bearer ${tokens[n % tokens.length]}`,
                },
                body: JSON.stringify({
                  client_event_id: `${eventPrefix}-${n}`,
                  chapter_id: chapters[n % chapters.length],
                  percent: n % 101,
                  time_spent_seconds: 5,
                }),
              };
            },
          },
        ],
      });
    await load(WARM_UP_SECONDS);
    return measured(pid, () => load(SECONDS));
  };

  try {
    const bareProfile = LOADS.includes('profile') ? await profileLoad(bare.url, bare.pid) : null;
    const appProfile = LOADS.includes('profile') ? await profileLoad(app.url, app.child.pid) : null;
    const bareProgress = LOADS.includes('progress') ? await progressLoad(bare.url, bare.pid, 'bare') : null;
    const appProgress = LOADS.includes('progress') ? await progressLoad(app.url, app.child.pid, 'app') : null;
    console.log(
      `bench:edge  connections=${CONNECTIONS} duration=${SECONDS}s each, pool ${POOL_SIZE}, PostgreSQL, ${LEARNERS} learners (a shared, noisy machine: compare ratios between runs)`,
    );
    console.log('  baseline: bare node:http + pg in its own process, same SQL functions, no framework or checks');
    if (appProfile && bareProfile) report('GET /api/user/profile (cached)', appProfile, bareProfile, 15);
    if (appProgress && bareProgress) report('POST /api/progress/update', appProgress, bareProgress, 25);
  } finally {
    await bare.stop();
    await app.stop();
  }
}

void main();
