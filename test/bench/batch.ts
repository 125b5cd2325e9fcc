/**
 * npm run bench:batch — the batch destination's two halves on the real PostgreSQL, against the
 * local Message Batches stand-in: the time to collect and submit N batch jobs (default 10,000:
 * one provider batch) and the time to ingest their N results (JSONL streamed, 500 lines a
 * statement through ingest_batch_results → complete_jobs / fail_jobs). Goal: ≥ 2,000 results/s.
 * Baseline in the same run: the streaming path's completion, one complete_job call per job from
 * 8 concurrent connections (as 8 workers would), for the same number of jobs.
 */
import Anthropic from '@anthropic-ai/sdk';

import { DEFAULT_PRICES } from '../../app/domain/prices';
import { createBatchDispatcher } from '../../app/server/batch-dispatcher.server';
import type { Database } from '../../app/server/db/port.server';
import { silentLogger } from '../../app/server/log.server';
import { claimJobs, completeJob, submitBatch, type NewJob } from '../../app/server/queue.server';
import { startAnthropicStandIn } from '../support/anthropic-stand-in';
import { attemptUsage } from '../support/fixtures';
import { fmt, freshDatabase, manyChapters } from './support';

const JOBS = Number(process.env.BENCH_JOBS ?? 10_000);
const CONCURRENCY = 8;

async function queue(db: Database, chapters: string[], destination: 'batch' | 'cloud') {
  for (let start = 0; start < JOBS; start += 1000) {
    const jobs: NewJob[] = chapters.slice(start, start + 1000).map((chapterId) => ({
      chapterId,
      model: 'claude-haiku-5-5',
      maxTokens: 1000,
      destination,
      priority: 'low',
      createdBy: 'bench',
    }));
    await submitBatch(db, { name: `bench ${destination} ${start}`, createdBy: 'bench' }, jobs);
  }
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function main() {
  const { db } = await freshDatabase('switchyard_bench_batch', CONCURRENCY + 2);
  const chapters = await manyChapters(db, JOBS);
  const standIn = await startAnthropicStandIn();
  try {
    await queue(db, chapters, 'batch');
    const dispatcher = createBatchDispatcher({
      db,
      client: new Anthropic({ apiKey: 'bench', baseURL: standIn.url, maxRetries: 0 }),
      prices: DEFAULT_PRICES,
      log: silentLogger,
      maxRequests: JOBS,
      lingerSeconds: 0,
      firstPollSeconds: 0,
    });
    // The first poll answers in_progress, so the first tick is collect + build + submit only.
    standIn.batches.behave({ endAfterPolls: 1 });
    const submitMs = await timed(() => dispatcher.tick());
    const ingestStarted = performance.now();
    const { ingested } = await dispatcher.tick();
    const ingestMs = performance.now() - ingestStarted;
    const [{ done }] = await db.query<{ done: number }>(
      `select count(*)::integer as done from public.chapter_content_jobs where status = 'succeeded'`,
    );

    await queue(db, chapters, 'cloud');
    const claimed = await claimJobs(db, 'bench-worker', 600, JOBS);
    let next = 0;
    const baselineMs = await timed(() =>
      Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < claimed.length) {
            const job = claimed[next++];
            await completeJob(db, job.id, 'bench-worker', {
              content: '# A chapter\n\nText.',
              stopReason: 'end_turn',
              usage: attemptUsage,
            });
          }
        }),
      ),
    );

    const rate = (n: number, ms: number) => (n / ms) * 1000;
    console.log(`bench:batch — ${JOBS} jobs, ${standIn.batches.created} provider batch(es), PostgreSQL`);
    console.log(`  collect + submit:  ${fmt(submitMs / 1000)} s  (${fmt(rate(JOBS, submitMs), 0)} requests/s)`);
    console.log(
      `  ingest results:    ${fmt(ingestMs / 1000)} s  (${fmt(rate(ingested, ingestMs), 0)} results/s; goal ≥ 2000) — ${done} succeeded`,
    );
    console.log(
      `  baseline: complete_job per job, ${CONCURRENCY} connections: ${fmt(baselineMs / 1000)} s (${fmt(rate(claimed.length, baselineMs), 0)} jobs/s)`,
    );
    console.log(`  ingest vs baseline: ${fmt(baselineMs / ingestMs)}× the baseline's rate`);
  } finally {
    await standIn.close();
    await db.close();
  }
}

void main();
