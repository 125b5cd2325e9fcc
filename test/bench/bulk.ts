/**
 * npm run bench:bulk — cancel, then retry, N pending jobs (default 1,000) on the real PostgreSQL:
 * once through cancelJobs / retryJobs (one SQL call and one audit insert, one transaction), and
 * once as the Jobs page did before, one job per transaction (cancel_job / retry_job and an audit
 * row each). Prints both times and their ratio. Target: under 1 s per bulk action.
 */
import { audit } from '../../app/server/audit.server';
import type { Database } from '../../app/server/db/port.server';
import { cancelJob, retryJob, submitBatch } from '../../app/server/queue.server';
import { cancelJobs, retryJobs } from '../../app/server/services/job-control.server';
import { fmt, freshDatabase, manyChapters } from './support';

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const caller = { actor: 'bench@switchyard.local' };

async function pendingJobs(db: Database, chapters: string[], name: string): Promise<string[]> {
  const jobs = chapters.map((chapterId) => ({
    chapterId,
    model: 'claude-haiku-5-5',
    maxTokens: 100,
    createdBy: 'bench',
  }));
  const { batchId } = await submitBatch(db, { name, createdBy: 'bench' }, jobs);
  const rows = await db.query<{ id: string }>('select id from public.chapter_content_jobs where batch_id = $1', [
    batchId,
  ]);
  return rows.map((row) => row.id);
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function oneByOne(db: Database, ids: string[], action: 'cancel' | 'retry'): Promise<void> {
  for (const id of ids) {
    await db.transaction(async (tx) => {
      const status = action === 'cancel' ? await cancelJob(tx, id, caller.actor) : await retryJob(tx, id, caller.actor);
      await audit(tx, {
        actor: caller.actor,
        action: `job.${action}`,
        targetType: 'job',
        targetId: id,
        detail: { status },
      });
    });
  }
}

async function main() {
  const { db } = await freshDatabase('switchyard_bench_bulk', 4);
  const chapters = await manyChapters(db, JOBS);
  const runtime = { db, wakeWorker: () => {} };

  const bulkIds = await pendingJobs(db, chapters, 'bulk');
  const bulkCancel = await timed(() => cancelJobs(runtime, caller, bulkIds));
  const bulkRetry = await timed(() => retryJobs(runtime, caller, bulkIds));

  const loopIds = await pendingJobs(db, chapters, 'loop');
  const loopCancel = await timed(() => oneByOne(db, loopIds, 'cancel'));
  const loopRetry = await timed(() => oneByOne(db, loopIds, 'retry'));

  const [{ pending }] = await db.query<{ pending: number }>(
    `select count(*)::integer as pending from public.chapter_content_jobs where status = 'pending'`,
  );
  console.log(`bench:bulk  jobs=${JOBS} (all ${pending === 2 * JOBS ? 'pending again' : `NOT pending: ${pending}`})`);
  console.log('  action   one call (ms)   one job per transaction (ms)   ratio');
  for (const [name, bulk, loop] of [
    ['cancel', bulkCancel, loopCancel],
    ['retry', bulkRetry, loopRetry],
  ] as const) {
    console.log(
      `  ${name.padEnd(8)} ${fmt(bulk, 1).padStart(13)}   ${fmt(loop, 1).padStart(28)}   ${fmt(loop / bulk, 1)}×`,
    );
  }
  console.log('  target: one call under 1,000 ms');
  await db.close();
}

void main();
