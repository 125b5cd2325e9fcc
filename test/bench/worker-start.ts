/**
 * npm run bench:worker-start — how long a new worker process takes from its start to its first
 * claim, as on Cloud Run scaling from zero: a job waits in the queue, a fresh process starts, and
 * the clock stops when a poll of the job row every 2 ms sees it claimed (claims send no NOTIFY:
 * ADR 0021). Each run is a new process
 * (the machine's file cache stays warm). Compares the image's compiled worker
 * (dist/worker/main.mjs, `npm run build:worker`) with `npm run worker` (tsx), on Node 22 (the
 * production runtime, from tools/deploy) when it is installed, and on this Node.
 * Goal: ≤ 1,000 ms to the first claim for the compiled worker.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

import { cancelJob, submitJob } from '../../app/server/queue.server';
import { freePort } from '../support/app-process';
import { DEPLOY_TOOLS } from '../support/deploy-tools';
import { fmt, freshDatabase, manyChapters, percentile } from './support';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const GOAL_MS = 1_000;

interface Variant {
  name: string;
  node: string;
  args: string[];
}

async function main() {
  execFileSync(process.execPath, ['scripts/build-worker.mjs'], { stdio: 'ignore' });
  const { db, url } = await freshDatabase('switchyard_bench_worker_start', 4);
  const chapters = await manyChapters(db, RUNS * 4);
  const claimed = async (jobId: string) =>
    (await db.query<{ status: string }>('select status from public.chapter_content_jobs where id = $1', [jobId]))[0]
      .status !== 'pending';

  const variants: Variant[] = [];
  if (existsSync(DEPLOY_TOOLS.node22)) {
    variants.push({ name: 'compiled, Node 22 (the image)', node: DEPLOY_TOOLS.node22, args: ['dist/worker/main.mjs'] });
  }
  variants.push(
    { name: `compiled, Node ${process.versions.node}`, node: process.execPath, args: ['dist/worker/main.mjs'] },
    { name: `tsx, Node ${process.versions.node}`, node: process.execPath, args: ['--import', 'tsx', 'worker/main.ts'] },
  );

  const results: { variant: Variant; listening: number[]; claim: number[] }[] = [];
  let next = 0;
  for (const variant of variants) {
    const listening: number[] = [];
    const claim: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const { jobId } = await submitJob(db, {
        chapterId: chapters[next++],
        model: 'claude-haiku-5-5',
        maxTokens: 200,
        createdBy: 'bench@switchyard.local',
      });
      const startedAt = performance.now();
      const child = spawn(variant.node, variant.args, {
        cwd: path.resolve('.'),
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'production',
          DATABASE_URL: url,
          PORT: String(await freePort()),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      let listeningAt = Number.NaN;
      child.stdout.on('data', (chunk) => {
        output += chunk;
        if (Number.isNaN(listeningAt) && output.includes('worker listening')) listeningAt = performance.now();
      });
      child.stderr.on('data', (chunk) => (output += chunk));
      const deadline = Date.now() + 20_000;
      while (!(await claimed(jobId))) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${variant.name}: no claim\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      claim.push(performance.now() - startedAt);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      if (!Number.isNaN(listeningAt)) listening.push(listeningAt - startedAt);
      await cancelJob(db, jobId, 'bench');
    }
    results.push({ variant, listening: listening.sort((a, b) => a - b), claim: claim.sort((a, b) => a - b) });
  }
  await db.close();

  console.log(`worker start-up to first claim, ${RUNS} fresh processes each (ms; goal ≤ ${GOAL_MS} compiled)`);
  console.log('variant                              listening p50   first claim p50   min     max     goal');
  for (const { variant, listening, claim } of results) {
    console.log(
      `${variant.name.padEnd(36)} ${fmt(percentile(listening, 50), 0).padStart(13)}   ${fmt(percentile(claim, 50), 0).padStart(15)}   ` +
        `${fmt(claim[0], 0).padStart(5)}   ${fmt(claim[claim.length - 1], 0).padStart(5)}   ` +
        `${percentile(claim, 50) <= GOAL_MS ? 'met' : 'MISSED'}`,
    );
  }
  const compiled = results.find(
    (result) => result.variant.args[0] === 'dist/worker/main.mjs' && result.variant.node === process.execPath,
  );
  const tsx = results.find((result) => result.variant.args.includes('tsx'));
  if (compiled && tsx) {
    console.log(
      `tsx / compiled (first claim p50, same Node): ${fmt(percentile(tsx.claim, 50) / percentile(compiled.claim, 50))}×`,
    );
  }
}

await main();
