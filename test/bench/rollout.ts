/**
 * npm run bench:rollout — one analysis interval of a rollout over 1,000,000 jobs (BENCH_JOBS) on
 * the real PostgreSQL. The jobs belong to one rollout and finished over the last 7 days, half
 * per variant, so a 5-minute window holds ~500 of them. Prints the figures query for a
 * 5-minute window (median of 5), for the widest window (the baseline since the start, read at
 * 100 % only when no earlier analysis stored the baseline's figures), and one whole analyseRollouts call (lock, read, decide, write). Goal: ≤ 200 ms.
 */
import { analyseRollouts, variantSamples } from '../../app/server/services/rollout-analysis.server';
import { startRollout } from '../../app/server/services/rollout.server';
import { silentLogger } from '../../app/server/log.server';
import { fmt, freshDatabase, manyChapters } from './support';

const JOBS = Number(process.env.BENCH_JOBS ?? 1_000_000);

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function main() {
  const { db } = await freshDatabase('switchyard_bench_rollout', 4);
  const [chapter] = await manyChapters(db, 1);
  const started = await startRollout(db, 'bench', {
    ruleId: 'generate',
    baseline: { destination: 'cloud', model: 'claude-sonnet-5-5', maxTokens: 4000 },
    candidate: { destination: 'cloud', model: 'claude-haiku-5-5', maxTokens: 4000 },
    plan: {
      steps: [10, 50, 100],
      intervalSeconds: 300,
      minSample: 50,
      maxFailures: 2,
      thresholds: [
        { metric: 'success_rate', kind: 'relative', limit: 5 },
        { metric: 'p95_latency_ms', kind: 'relative', limit: 50 },
        { metric: 'p95_ttft_ms', kind: 'relative', limit: 50 },
        { metric: 'cost_per_success_micros', kind: 'relative', limit: 20 },
        { metric: 'overload_rate', kind: 'absolute', limit: 5 },
      ],
    },
  });
  if (!started.ok) throw new Error(JSON.stringify(started));
  const id = started.rollout.id;
  const insertMs = await timed(() =>
    db.query(
      `insert into public.chapter_content_jobs (chapter_id, status, model, max_tokens, created_by, rollout_id, variant,
         created_at, started_at, first_token_at, finished_at, output_tokens, cost_output_micros, cost_total_micros,
         error_code, stop_reason)
       select $1, case when i % 50 = 0 then 'failed' else 'succeeded' end, 'claude-haiku-5-5', 4000, 'bench', $2,
         case when i % 2 = 0 then 'baseline' else 'candidate' end,
         f - make_interval(secs => 20 + i % 40), f - make_interval(secs => 19 + i % 40),
         f - make_interval(secs => 18 + i % 40), f, 1000 + i % 3000, 20000 + i % 9000, 20000 + i % 9000,
         case when i % 50 = 0 then 'overloaded_error' end, case when i % 97 = 0 then 'max_tokens' else 'end_turn' end
       from generate_series(1, $3) as i, lateral (select now() - make_interval(secs => (i::float8 / $3) * 7 * 86400) as f) as t`,
      [chapter, id, JOBS],
    ),
  );
  // The rollout started a week ago, like its jobs; its last analysis was 5 minutes ago.
  await db.query(
    `update public.rollouts set started_at = now() - interval '7 days', step_started_at = now() - interval '7 days',
       last_analysis = jsonb_build_object('at', now() - interval '5 minutes') where id = $1`,
    [id],
  );
  await db.query('analyze public.chapter_content_jobs');

  const now = new Date();
  const windowStart = new Date(now.getTime() - 300_000);
  const weekAgo = new Date(now.getTime() - 7 * 86_400_000);
  const windowTimes: number[] = [];
  let finished = 0;
  for (let run = 0; run < 5; run += 1)
    windowTimes.push(
      await timed(async () => {
        const samples = await variantSamples(db, id, windowStart, windowStart, now);
        finished = samples.baseline.finished + samples.candidate.finished;
      }),
    );
  windowTimes.sort((a, b) => a - b);
  const wideMs = await timed(() => variantSamples(db, id, windowStart, weekAgo, now));
  await db.query(`update public.rollouts set next_analysis_at = now() - interval '1 second' where id = $1`, [id]);
  let decision = '';
  const wholeMs = await timed(async () => {
    const [result] = await analyseRollouts({ db, edgeConfig: null }, silentLogger);
    decision = result?.decision ?? 'none';
  });

  console.log(`bench:rollout  jobs=${JOBS} (inserted in ${fmt(insertMs / 1000, 1)} s)`);
  console.log(`  5-minute window (${finished} jobs), figures query, median of 5   ${fmt(windowTimes[2], 1)} ms`);
  console.log(
    `  at 100 % without a stored baseline: baseline since the start (${JOBS / 2} jobs)   ${fmt(wideMs, 1)} ms`,
  );
  console.log(`  one whole analysis step (lock, read, decide: ${decision}, write)   ${fmt(wholeMs, 1)} ms`);
  console.log('  goal: one analysis interval ≤ 200 ms');
  await db.close();
}

void main();
