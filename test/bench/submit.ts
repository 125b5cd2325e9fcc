/**
 * npm run bench:submit — concurrent POST /api/content/generate-chapter against the running app
 * (the production build served by server.ts) on PostgreSQL, with autocannon. Prints req/s and
 * latency percentiles. Target: p99 ≤ 20 ms at 50 concurrent connections.
 */
import autocannon from 'autocannon';

import { createApiToken } from '../../app/server/auth/api-tokens.server';
import { createStaff } from '../../app/server/services/staff.server';
import { startApp } from '../support/app-process';
import { fmt, freshDatabase, manyChapters } from './support';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

async function main() {
  const { db, url } = await freshDatabase('switchyard_bench_submit', 2);
  const chapters = await manyChapters(db, 500);
  const staffId = await createStaff(db, 'system', { email: 'bench@example.com', displayName: 'Bench', role: 'admin' });
  const { token } = await createApiToken(
    db,
    { id: staffId, email: 'bench@example.com', displayName: 'Bench', role: 'admin' },
    { name: 'bench', scopes: ['submit'] },
  );
  await db.close();

  const app = await startApp({ DATABASE_URL: url, EMBEDDED_WORKER: 'false', DATABASE_POOL_SIZE: '20' });
  try {
    let i = 0;
    const result = await autocannon({
      url: `${app.url}/api/content/generate-chapter`,
      method: 'POST',
      connections: CONNECTIONS,
      duration: SECONDS,
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
    const latency = result.latency as unknown as Record<string, number>;
    console.log(
      `bench:submit  connections=${CONNECTIONS} duration=${SECONDS}s  (app on PostgreSQL, worker not embedded)`,
    );
    console.log(
      `  requests        ${result.requests.total} (${result['2xx']} answered 2xx, ${result.non2xx} other, ${result.errors} errors)`,
    );
    console.log(`  throughput      ${fmt(result.requests.average, 0)} req/s`);
    console.log(`  latency p50     ${fmt(latency.p50)} ms`);
    console.log(`  latency p90     ${fmt(latency.p90)} ms`);
    console.log(`  latency p97.5   ${fmt(latency.p97_5)} ms`);
    console.log(`  latency p99     ${fmt(latency.p99)} ms  (target ≤ 20)`);
    console.log(`  latency max     ${fmt(latency.max)} ms`);
  } finally {
    await app.stop();
  }
}

void main();
