import { BatchGenerateSchema } from '../../app/domain/submit-schemas';
import type { Database } from '../../app/server/db/port.server';
import { parseEnv } from '../../app/server/env.server';
import { createAnthropicGenerator } from '../../app/server/generators/anthropic.server';
import { createRuntime, type Runtime } from '../../app/server/runtime.server';
import { submitGeneration } from '../../app/server/services/submit.server';
import { sweep } from '../../app/server/sweeper.server';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-stand-in';
import { inProcessLauncher, startCloudRunSimulator, type CloudRunSimulator } from '../support/cloud-run-simulator';
import { databaseTargets, type TestDatabase } from '../support/databases';

const SECRET = 'wake-secret-for-fleet-scaling';
const submitter = { actor: 'cm@switchyard.local', scope: 'staff:test' };
/** Five text pieces of this many ms: one generation takes five times as long. */
const PIECE_MS = 60;

async function chapters(db: Database, count: number): Promise<string[]> {
  await db.query(`insert into public.courses (slug, title) values ('fleet', 'Fleet course')`);
  const rows = await db.query<{ id: string }>(
    `insert into public.chapters (course_id, position, title, outline)
     select (select id from public.courses where slug = 'fleet'), n, 'Chapter ' || n, '- a point'
     from generate_series(1, $1) as n returning id`,
    [count],
  );
  return rows.map((row) => row.id);
}

const until = async (check: () => boolean | Promise<boolean>, ms: number, what: string) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

describe.each(databaseTargets())('the fleet on the Cloud Run simulator, on $name', (target) => {
  let test_: TestDatabase;
  let anthropic: AnthropicStandIn;
  let simulator: CloudRunSimulator;
  let runtime: Runtime;
  let sweeping: ReturnType<typeof setInterval> | undefined;

  beforeEach(async () => {
    test_ = await target.create();
    anthropic = await startAnthropicStandIn();
    anthropic.setDefault({ delayMs: PIECE_MS });
    simulator = await startCloudRunSimulator({
      // The SDK's own retries off, so each 429 reaches the job and the fleet.
      launch: inProcessLauncher({
        db: test_.db,
        generator: createAnthropicGenerator({ apiKey: 'sk-ant-test', baseURL: anthropic.url, maxRetries: 0 }),
      }),
      maxInstances: 10,
      coldStartMs: 100,
      idleMs: 500,
    });
    runtime = createRuntime(
      parseEnv({ NODE_ENV: 'test', WORKER_URL: simulator.url, WORKER_WAKE_SECRET: SECRET, FLEET_MAX_INSTANCES: '10' }),
      test_.db,
    );
  });
  afterEach(async () => {
    clearInterval(sweeping);
    await until(() => runtime.fleet!.holding === 0, 10_000, 'held wake-ups answered');
    await simulator.close();
    await anthropic.close();
    await test_.drop();
  });

  /** The in-process sweep timer of a long-lived app, made quick for the test. */
  const sweepEvery = (ms: number) => {
    sweeping = setInterval(
      () => void sweep(test_.db, runtime.wakeWorker, 30, { fleet: runtime.fleet }).catch(() => undefined),
      ms,
    );
  };
  const submitBatch = async (ids: string[]) => {
    const result = await submitGeneration(runtime, submitter, {
      kind: 'batch',
      input: BatchGenerateSchema.parse({ chapter_ids: ids }),
    });
    expect(result.kind).toBe('queued');
  };
  const statuses = async () =>
    Object.fromEntries(
      (
        await test_.db.query<{ status: string; n: number }>(
          'select status, count(*)::int as n from public.chapter_content_jobs group by status',
        )
      ).map((row) => [row.status, row.n]),
    );
  const allFinal = async () => {
    const counts = await statuses();
    return !counts.pending && !counts.running;
  };

  it('runs a 5-chapter batch on 5 instances at once, then scales to zero and sends nothing more', async () => {
    await submitBatch(await chapters(test_.db, 5));
    await until(allFinal, 20_000, 'batch finished');
    expect(await statuses()).toEqual({ succeeded: 5 });
    expect(simulator.stats()).toMatchObject({ peakInstances: 5, started: 5, requests: 5, refused: 0 });
    // Each worker ends its wake-up once it finds the queue empty.
    await until(
      async () => (await test_.db.query<{ n: number }>('select public.open_wakeup_count() as n'))[0].n === 0,
      5000,
      'wake-ups ended',
    );
    const wakeups = await test_.db.query<{ outcome: string; processed: number }>(
      'select outcome, processed from public.worker_wakeups order by sent_at',
    );
    expect(wakeups).toEqual(Array.from({ length: 5 }, () => ({ outcome: 'drained', processed: 1 })));

    // Scale to zero within the idle period, and no wake-up while nothing is runnable.
    await until(() => simulator.stats().instances === 0, 2000, 'scaled to zero');
    const idleSweep = await sweep(test_.db, runtime.wakeWorker, 30, { fleet: runtime.fleet });
    expect(idleSweep).toMatchObject({ woke: false, fleet: { desired: 0, sent: 0 } });
    expect(simulator.stats().requests).toBe(5);
    const { instanceSeconds, billableSeconds } = simulator.stats();
    expect(billableSeconds).toBeGreaterThan(5 * (5 * PIECE_MS + 100) * 0.001 * 0.9);
    expect(instanceSeconds).toBeGreaterThan(billableSeconds);
  });

  it('steps the fleet down on a 429 burst and back up after, with every job final and none generated twice', async () => {
    await test_.db.query('update public.fleet_state set decrease_cooldown_seconds = 1, recover_step_seconds = 1');
    const ids = await chapters(test_.db, 30);
    // The first ten requests, one per instance at full scale, are rate limited.
    anthropic.enqueue(
      ...Array.from({ length: 10 }, () => ({ status: 429, errorType: 'rate_limit_error', errorMessage: 'Slow down' })),
    );
    sweepEvery(200);
    await submitBatch(ids);

    // Back-pressure is recorded, the fleet steps down (newest wake-ups end between jobs)…
    await until(
      async () =>
        (
          await test_.db.query<{ n: number }>(
            `select count(*)::int as n from public.worker_wakeups where outcome = 'stepped_down'`,
          )
        )[0].n > 0,
      15_000,
      'a wake-up stepped down',
    );
    const [state] = await test_.db.query<{ pressure_events: number }>('select pressure_events from public.fleet_state');
    expect(state.pressure_events).toBeGreaterThanOrEqual(1);

    // …and every job still ends, succeeded, once.
    await until(allFinal, 60_000, 'batch finished');
    expect(await statuses()).toEqual({ succeeded: 30 });
    // Ten rate-limited requests, then one generation per job: none ran twice.
    expect(anthropic.requests).toHaveLength(40);
    expect(anthropic.requests.every((request) => request.completed && request.clientClosedAt === null)).toBe(true);
    const [attempts] = await test_.db.query<{ n: number }>(
      'select sum(attempts)::int as n from public.chapter_content_jobs',
    );
    expect(attempts.n).toBe(40);
    const [versions] = await test_.db.query<{ n: number; jobs: number }>(
      'select count(*)::int as n, count(distinct job_id)::int as jobs from public.chapter_versions',
    );
    expect(versions).toEqual({ n: 30, jobs: 30 });

    // It recovers: the limit grows back a step a second until the back-pressure is over.
    await until(
      async () =>
        (await test_.db.query<{ limit: number | null }>('select public.fleet_pressure_limit() as limit'))[0].limit ===
          null || (await runtime.fleet!.reconcile())?.pressureLimit === null,
      15_000,
      'back-pressure over',
    );
  });
});
