/**
 * npm run bench:fleet — how fast a batch finishes on the worker fleet, end to end: the app's
 * submit and sweeps send wake-ups (app/server/fleet.server.ts) to the Cloud Run autoscaling
 * simulator (test/support/cloud-run-simulator.ts: max 10 instances, concurrency 1, cold start
 * 1 s), whose instances are real worker processes (worker/main.ts) generating through the
 * Anthropic stand-in at 2 s a chapter. Prints, for a 200- and a 5-chapter batch: makespan, the
 * ideal ceil(n / 10) × 2 s + cold start, their ratio, peak instances, instance-seconds, and the
 * Cloud Run cost from the simulator's billable seconds beside what the price module recorded.
 */
import { randomUUID } from 'node:crypto';

import { cloudRunCostMicros, DEFAULT_PRICES } from '../../app/domain/prices';
import { BatchGenerateSchema } from '../../app/domain/submit-schemas';
import type { Database } from '../../app/server/db/port.server';
import { parseEnv } from '../../app/server/env.server';
import { createRuntime } from '../../app/server/runtime.server';
import { submitGeneration } from '../../app/server/services/submit.server';
import { sweep } from '../../app/server/sweeper.server';
import { startAnthropicStandIn } from '../support/anthropic-stand-in';
import { startCloudRunSimulator, workerProcessLauncher } from '../support/cloud-run-simulator';
import { fmt, freshDatabase, manyChapters } from './support';

const MAX_INSTANCES = 10;
const COLD_START_MS = 1000;
const GENERATION_MS = 2000;
const IDLE_MS = 3000;
/** server.ts's in-process sweep timer. */
const SWEEP_INTERVAL_MS = 5000;
const SECRET = randomUUID();

async function main() {
  const { db, url } = await freshDatabase('switchyard_bench_fleet', 10);
  const anthropic = await startAnthropicStandIn();
  // The stand-in's five text pieces, 400 ms apart: 2 s a generation.
  anthropic.setDefault({ delayMs: GENERATION_MS / 5 });
  const chapters = await manyChapters(db, 205);
  const rows: string[][] = [];
  try {
    for (const size of [200, 5]) {
      rows.push(await scenario(db, url, anthropic.url, chapters.splice(0, size)));
    }
  } finally {
    await anthropic.close();
    await db.close();
  }
  const header = [
    'batch',
    'makespan s',
    'ideal s',
    'ratio',
    'peak inst.',
    'instance-s',
    'billable-s',
    'to zero s',
    'wake-ups',
    'sim. cost $',
    'recorded $',
  ];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i])).join('  ');
  console.log(
    `\nFleet: max ${MAX_INSTANCES} instances, cold start ${COLD_START_MS / 1000} s, ${GENERATION_MS / 1000} s a generation, scale to zero after ${IDLE_MS / 1000} s idle\n`,
  );
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(
    '\nideal = ceil(n / max) × generation + cold start. sim. cost = billable seconds (start-up + serving) at the price' +
      "\nmodule's Cloud Run rates; recorded = the sum of the jobs' cost_cloud_run_micros (their busy time only).\n",
  );
}

async function scenario(db: Database, dbUrl: string, anthropicUrl: string, ids: string[]): Promise<string[]> {
  const simulator = await startCloudRunSimulator({
    launch: workerProcessLauncher({
      DATABASE_URL: dbUrl,
      DATABASE_POOL_SIZE: '2',
      ANTHROPIC_API_KEY: 'sk-ant-bench',
      ANTHROPIC_BASE_URL: anthropicUrl,
      WORKER_WAKE_SECRET: SECRET,
    }),
    maxInstances: MAX_INSTANCES,
    coldStartMs: COLD_START_MS,
    idleMs: IDLE_MS,
    standby: Math.min(ids.length, MAX_INSTANCES),
  });
  await simulator.warm();
  const runtime = createRuntime(
    parseEnv({
      NODE_ENV: 'production',
      WORKER_URL: simulator.url,
      WORKER_WAKE_SECRET: SECRET,
      FLEET_MAX_INSTANCES: String(MAX_INSTANCES),
    }),
    db,
  );
  const started = Date.now();
  const result = await submitGeneration(
    runtime,
    { actor: 'bench@switchyard.local', scope: 'bench' },
    { kind: 'batch', input: BatchGenerateSchema.parse({ chapter_ids: ids }) },
  );
  if (result.kind !== 'queued') throw new Error(`the batch was not queued: ${result.kind}`);
  const sweeper = setInterval(
    () => void sweep(db, runtime.wakeWorker, 30, { fleet: runtime.fleet }).catch(() => undefined),
    SWEEP_INTERVAL_MS,
  );
  let finished: number;
  for (;;) {
    const [row] = await db.query<{ open: number; failed: number }>(
      `select count(*) filter (where status in ('pending', 'running'))::int as open,
              count(*) filter (where status <> 'succeeded' and status not in ('pending', 'running'))::int as failed
       from public.chapter_content_jobs where batch_id = $1`,
      [result.batchId],
    );
    if (row.open === 0) {
      finished = Date.now();
      if (row.failed > 0) console.warn(`${row.failed} jobs of the batch did not succeed`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  clearInterval(sweeper);
  const makespan = (finished - started) / 1000;
  while (simulator.stats().instances > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  const toZero = (Date.now() - finished) / 1000;
  const stats = simulator.stats();
  const [recorded] = await db.query<{ micros: number; wakeups: number }>(
    `select (select coalesce(sum(cost_cloud_run_micros), 0)::bigint from public.chapter_content_jobs where batch_id = $1) as micros,
            (select count(*)::int from public.worker_wakeups where sent_at >= to_timestamp($2 / 1000.0)) as wakeups`,
    [result.batchId, started],
  );
  await simulator.close();
  const ideal = Math.ceil(ids.length / MAX_INSTANCES) * (GENERATION_MS / 1000) + COLD_START_MS / 1000;
  return [
    String(ids.length),
    fmt(makespan),
    fmt(ideal),
    fmt(makespan / ideal),
    String(stats.peakInstances),
    fmt(stats.instanceSeconds, 1),
    fmt(stats.billableSeconds, 1),
    fmt(toZero, 1),
    String(recorded.wakeups),
    fmt(cloudRunCostMicros(DEFAULT_PRICES, stats.billableSeconds * 1000) / 1e6, 4),
    fmt(Number(recorded.micros) / 1e6, 4),
  ];
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
