/**
 * npm run bench:queue — N no-op jobs through claim → complete with K concurrent workers on the
 * real PostgreSQL (the whole queue path: triggers, job_events, NOTIFY, chapter versions).
 * Prints jobs/s and the database time per job. Target on 2 cores: ≥ 3,000 jobs/s.
 */
import { claimJobs, completeJob, submitBatch, type AttemptUsage } from '../../app/server/queue.server';
import { fmt, freshDatabase, manyChapters } from './support';

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const CLAIM_BATCH = Number(process.env.BENCH_CLAIM_BATCH ?? 10);

const usage: AttemptUsage = {
  generator: 'offline',
  inputTokens: 100,
  outputTokens: 200,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 0,
  busyMs: 0,
  costMicros: { input: 10, output: 100 },
};

async function main() {
  const { db } = await freshDatabase('switchyard_bench_queue', WORKERS + 2);
  const chapters = await manyChapters(db, 2000);
  for (let offset = 0; offset < JOBS; offset += 1000) {
    const jobs = Array.from({ length: Math.min(1000, JOBS - offset) }, (_, i) => ({
      chapterId: chapters[(offset + i) % chapters.length],
      model: 'claude-haiku-5-5',
      maxTokens: 100,
      createdBy: 'bench',
    }));
    await submitBatch(db, { name: `bench ${offset}`, createdBy: 'bench' }, jobs);
  }

  let dbMs = 0;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      const workerId = `bench-${w}`;
      for (;;) {
        const t0 = performance.now();
        const claimed = await claimJobs(db, workerId, 60, CLAIM_BATCH);
        dbMs += performance.now() - t0;
        if (claimed.length === 0) return;
        for (const job of claimed) {
          const t1 = performance.now();
          await completeJob(db, job.id, workerId, { content: '# no-op', stopReason: 'end_turn', usage });
          dbMs += performance.now() - t1;
          done += 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const [{ versions }] = await db.query<{ versions: number }>(
    'select count(*) as versions from public.chapter_versions',
  );
  console.log(`bench:queue  jobs=${JOBS} workers=${WORKERS} claim_batch=${CLAIM_BATCH}`);
  console.log(`  completed        ${done} (chapter versions written: ${versions})`);
  console.log(`  throughput       ${fmt(done / seconds, 0)} jobs/s  (target ≥ 3000)`);
  console.log(`  wall time        ${fmt(seconds)} s`);
  console.log(
    `  db time per job  ${fmt(dbMs / done, 3)} ms summed over workers (${fmt(dbMs / done / WORKERS, 3)} ms of wall time)`,
  );
  await db.close();
}

void main();
