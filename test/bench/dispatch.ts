/**
 * npm run bench:dispatch — from a submit's commit to a warm worker's claim. The submit goes
 * through the same service as the API (job row, then wake-up); the worker is already listening.
 * Latency is measured client-side until the worker, having claimed the job, calls the generator
 * (claims send no NOTIFY since ADR 0021).
 * Target: p95 ≤ 25 ms.
 */
import type { ChapterGenerator } from '../../app/domain/generation';
import { DEFAULT_ROUTING_CONFIG, routeRequest } from '../../app/domain/routing';
import { parseEnv } from '../../app/server/env.server';
import { silentLogger } from '../../app/server/log.server';
import { createRuntime } from '../../app/server/runtime.server';
import { queueChapter } from '../../app/server/services/submit.server';
import { GenerateChapterSchema } from '../../app/domain/submit-schemas';
import { JobRunner } from '../../worker/job-runner';
import { fmt, freshDatabase, manyChapters, percentile } from './support';

const SUBMITS = Number(process.env.BENCH_SUBMITS ?? 300);

/** Called by the worker when it runs a job it claimed. */
let onGenerate: (at: number) => void = () => undefined;

const instant: ChapterGenerator = {
  name: 'offline',
  async generate() {
    onGenerate(performance.now());
    return {
      content: '# done',
      stopReason: 'end_turn',
      usage: { inputTokens: 1, outputTokens: 1, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, cacheReadTokens: 0 },
    };
  },
};

async function main() {
  const { db } = await freshDatabase('switchyard_bench_dispatch', 6);
  const chapters = await manyChapters(db, 50);
  const worker = new JobRunner({ db, generator: instant, log: silentLogger });
  await worker.start();
  const runtime = {
    ...createRuntime(parseEnv({ NODE_ENV: 'production' }), db, () => void worker.wake()),
    generator: instant,
  };

  // Submits are sequential, so the one job in flight is the one the generator runs.
  let claimed: Promise<number>;

  const request = new Request('https://switchyard.example/api/content/generate-chapter', { method: 'POST' });
  const latencies: number[] = [];
  for (let i = 0; i < SUBMITS + 20; i += 1) {
    const input = GenerateChapterSchema.parse({ chapter_id: chapters[i % chapters.length] });
    const decision = routeRequest(request, DEFAULT_ROUTING_CONFIG, { chapter: input.chapter_id });
    claimed = new Promise<number>((resolve) => (onGenerate = resolve));
    const started = performance.now();
    const queued = await queueChapter(runtime, { actor: 'bench', scope: 'bench' }, input, decision);
    if (queued.kind !== 'queued') throw new Error(queued.message);
    const claimedAt = await claimed;
    if (i >= 20) latencies.push(claimedAt - started); // the first 20 warm up connections and plans
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  latencies.sort((a, b) => a - b);
  console.log(`bench:dispatch  submits=${SUBMITS} (sequential, warm in-process worker, PostgreSQL)`);
  console.log(`  submit → claimed p50  ${fmt(percentile(latencies, 50))} ms`);
  console.log(`  submit → claimed p95  ${fmt(percentile(latencies, 95))} ms  (target ≤ 25)`);
  console.log(`  submit → claimed p99  ${fmt(percentile(latencies, 99))} ms`);
  console.log(`  max                   ${fmt(latencies[latencies.length - 1])} ms`);
  await worker.stop();
  await db.close();
  process.exit(0);
}

void main();
