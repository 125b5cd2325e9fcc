/**
 * npm run bench:edge — the learner edge routes against the running app (the production build
 * served by server.ts, with its in-process response cache) on PostgreSQL, 50 concurrent
 * connections each: a cached profile GET (each learner's first read fills the cache) and a
 * progress POST (a new client_event_id every time). Prints latency percentiles.
 * Goals: p99 ≤ 15 ms for the cached profile GET, ≤ 25 ms for the progress POST.
 */
import { randomUUID } from 'node:crypto';

import autocannon from 'autocannon';

import { parseEnv } from '../../app/server/env.server';
import { issueLocalLearnerToken } from '../../app/server/learner-api.server';
import { startApp } from '../support/app-process';
import { fmt, freshDatabase, manyChapters } from './support';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const LEARNERS = 200;
const LEARNER_JWT_SECRET = 'bench-edge-learner-secret-of-32-chars!!';

type Latency = Record<string, number>;

function report(name: string, result: autocannon.Result, goal: number) {
  const latency = result.latency as unknown as Latency;
  console.log(`  ${name}`);
  console.log(
    `    requests      ${result.requests.total} (${result['2xx']} answered 2xx, ${result.non2xx} other, ${result.errors} errors), ${fmt(result.requests.average, 0)} req/s`,
  );
  console.log(`    latency p50   ${fmt(latency.p50)} ms`);
  console.log(`    latency p90   ${fmt(latency.p90)} ms`);
  console.log(`    latency p99   ${fmt(latency.p99)} ms  (goal ≤ ${goal}; ${fmt(latency.p99 / goal)}× the goal)`);
  console.log(`    latency max   ${fmt(latency.max)} ms`);
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
    DATABASE_POOL_SIZE: '20',
    LEARNER_JWT_SECRET,
    // The bench measures the path, not the limiter: every learner sends far more than a client would.
    LEARNER_RATE_LIMIT_PER_MINUTE: '100000',
  });
  try {
    let i = 0;
    // Fill the cache: each learner's first read is a miss.
    await Promise.all(
      tokens.map((token) => fetch(`${app.url}/api/user/profile`, { headers: { authorization: `Bearer ${token}` } })),
    );
    const profile = await autocannon({
      url: `${app.url}/api/user/profile`,
      connections: CONNECTIONS,
      duration: SECONDS,
      requests: [
        {
          setupRequest: (request) => ({
            ...request,
            headers: { ...request.headers, authorization: `Bearer ${tokens[i++ % tokens.length]}` },
          }),
        },
      ],
    });
    let n = 0;
    const progress = await autocannon({
      url: `${app.url}/api/progress/update`,
      method: 'POST',
      connections: CONNECTIONS,
      duration: SECONDS,
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
                client_event_id: `bench-${n}`,
                chapter_id: chapters[n % chapters.length],
                percent: n % 101,
                time_spent_seconds: 5,
              }),
            };
          },
        },
      ],
    });
    console.log(
      `bench:edge  connections=${CONNECTIONS} duration=${SECONDS}s each  (app on PostgreSQL, ${LEARNERS} learners)`,
    );
    report('GET /api/user/profile (cached)', profile, 15);
    report('POST /api/progress/update', progress, 25);
  } finally {
    await app.stop();
  }
}

void main();
