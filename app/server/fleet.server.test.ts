import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { BatchGenerateSchema } from '~/domain/submit-schemas';

import { openPostgres } from './db/postgres.server';
import type { Database } from './db/port.server';
import { parseEnv } from './env.server';
import { recordFleetPressure, wakeUpMayContinue } from './fleet.server';
import { createOfflineGenerator } from './generators/offline.server';
import { submitJob } from './queue.server';
import { createRuntime, type Runtime } from './runtime.server';
import { submitGeneration } from './services/submit.server';
import { sweep } from './sweeper.server';
import { databaseTargets, type TestDatabase } from '../../test/support/databases';
import { newJob, seededChapterIds } from '../../test/support/fixtures';

const SECRET = 'wake-secret-for-fleet-tests';

/**
 * A worker service that holds every wake-up open until told to answer, as Cloud Run does while
 * an instance drains the queue, and counts how many it holds at once.
 */
async function startHoldingWorker() {
  const held = new Map<string, () => void>();
  let peak = 0;
  const bodies: string[] = [];
  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    bodies.push(body);
    const id = (JSON.parse(body) as { wakeup: string }).wakeup;
    held.set(id, () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ processed: 0 }));
    });
    peak = Math.max(peak, held.size);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    bodies,
    get peak() {
      return peak;
    },
    releaseAll() {
      for (const [id, answer] of held) {
        answer();
        held.delete(id);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const submitter = { actor: 'cm@switchyard.local', scope: 'staff:test' };
const until = async (check: () => boolean | Promise<boolean>, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe.each(databaseTargets())('the worker fleet on $name', (target) => {
  let test_: TestDatabase;
  let worker: Awaited<ReturnType<typeof startHoldingWorker>>;
  let chapters: string[];
  const extraDbs: Database[] = [];
  const apps: Runtime[] = [];

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
    worker = await startHoldingWorker();
  });
  afterEach(async () => {
    worker.releaseAll();
    // Every held wake-up's answer is booked before the database goes away.
    await until(() => {
      worker.releaseAll();
      return apps.every((app) => app.fleet!.holding === 0);
    });
    apps.length = 0;
    await worker.close();
    for (const db of extraDbs.splice(0)) await db.close();
    await test_.drop();
  });

  /** An app instance: on PostgreSQL with a connection pool of its own, as a second server has. */
  function appInstance(maxInstances = 10): Runtime {
    let db = test_.db;
    if (test_.url) {
      db = openPostgres({ connectionString: test_.url, poolSize: 4 });
      extraDbs.push(db);
    }
    const runtime: Runtime = {
      ...createRuntime(
        parseEnv({
          NODE_ENV: 'test',
          WORKER_URL: worker.url,
          WORKER_WAKE_SECRET: SECRET,
          FLEET_MAX_INSTANCES: String(maxInstances),
        }),
        db,
      ),
      generator: createOfflineGenerator({ delayMs: 0 }),
    };
    apps.push(runtime);
    return runtime;
  }

  const openWakeUps = async () => (await test_.db.query<{ n: number }>('select public.open_wakeup_count() as n'))[0].n;

  it('two app instances submitting at once hold no more wake-ups than max instances, and fill it', async () => {
    const [a, b] = [appInstance(), appInstance()];
    const batch = (ids: string[]) => ({
      kind: 'batch' as const,
      input: BatchGenerateSchema.parse({ chapter_ids: ids }),
    });
    const results = await Promise.all([
      submitGeneration(a, submitter, batch(chapters.slice(0, 8))),
      submitGeneration(b, submitter, batch(chapters.slice(8, 16))),
      // Sweeps of both instances racing the submits.
      a.fleet!.reconcile(),
      b.fleet!.reconcile(),
      sweep(a.db, a.wakeWorker, 30, { fleet: a.fleet }),
      sweep(b.db, b.wakeWorker, 30, { fleet: b.fleet }),
    ]);
    expect(results.slice(0, 2).map((result) => (result as { kind: string }).kind)).toEqual(['queued', 'queued']);
    await Promise.all([a.fleet!.reconcile(), b.fleet!.reconcile()]);
    await until(() => worker.held.size === 10);
    // Give any overshoot the chance to arrive before judging.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(worker.peak).toBe(10);
    expect(await openWakeUps()).toBe(10);
    const senders = await test_.db.query<{ sent_by: string }>('select distinct sent_by from public.worker_wakeups');
    expect(senders.length).toBeGreaterThanOrEqual(1);

    // Answers close the wake-ups; with 16 jobs still runnable the next reconcile sends 10 again.
    worker.releaseAll();
    await until(async () => (await openWakeUps()) === 0);
    const again = await a.fleet!.reconcile();
    expect(again).toMatchObject({ desired: 10, openBefore: 0 });
    expect(again!.wakeupIds).toHaveLength(10);
  });

  it('sends one wake-up per runnable job below the maximum, and none while nothing is runnable', async () => {
    const app = appInstance();
    expect(await app.fleet!.reconcile()).toMatchObject({ desired: 0, wakeupIds: [] });
    const idle = await sweep(app.db, app.wakeWorker, 30, { fleet: app.fleet });
    expect(idle).toMatchObject({ woke: false, fleet: { desired: 0, sent: 0 } });

    const five = { kind: 'batch' as const, input: BatchGenerateSchema.parse({ chapter_ids: chapters.slice(0, 5) }) };
    await submitGeneration(app, submitter, five);
    await until(() => worker.held.size === 5);
    // A sweep while all five are held sends nothing more.
    expect(await sweep(app.db, app.wakeWorker, 30, { fleet: app.fleet })).toMatchObject({
      fleet: { desired: 5, inFlight: 5, sent: 0 },
    });
    expect(worker.held.size).toBe(5);
    // A job scheduled for later is not runnable yet: it wakes nobody.
    await test_.db.query(`update public.chapter_content_jobs set run_after = now() + interval '1 hour'`);
    worker.releaseAll();
    await until(async () => (await openWakeUps()) === 0);
    expect(await app.fleet!.reconcile()).toMatchObject({ desired: 0, wakeupIds: [] });
    expect(worker.bodies).toHaveLength(5);

    // A sweep forgets wake-ups older than a week, and keeps the recent ones.
    await test_.db.query(
      `update public.worker_wakeups set sent_at = now() - interval '8 days'
       where id in (select id from public.worker_wakeups order by id limit 2)`,
    );
    await sweep(app.db, app.wakeWorker, 30, { fleet: app.fleet });
    const [kept] = await test_.db.query<{ n: number }>('select count(*)::int as n from public.worker_wakeups');
    expect(kept.n).toBe(3);
  });

  it('a 429 steps the fleet down to half, the newest wake-ups stop first, and it grows back by one a step', async () => {
    const app = appInstance();
    for (const id of chapters.slice(0, 12)) await submitJob(test_.db, newJob(id, { dispatched: true }));
    await app.fleet!.reconcile();
    await until(() => worker.held.size === 10);
    const ids = (await test_.db.query<{ id: string }>('select id from public.worker_wakeups order by sent_at, id')).map(
      (row) => row.id,
    );

    expect(await recordFleetPressure(test_.db, 'rate_limit_error')).toBe(5);
    // A burst is one signal: a second 429 within the cooldown does not halve again.
    expect(await recordFleetPressure(test_.db, 'overloaded_error')).toBe(5);
    const may = await Promise.all(ids.map((id) => wakeUpMayContinue(test_.db, id)));
    expect(may).toEqual([true, true, true, true, true, false, false, false, false, false]);
    // Nothing new is sent while ten are open and the limit is five.
    expect(await app.fleet!.reconcile()).toMatchObject({ desired: 5, pressureLimit: 5, wakeupIds: [] });

    // Two recovery steps later the limit is seven; once the fleet is back at the maximum the
    // back-pressure is over.
    await test_.db.query(
      `update public.fleet_state set pressure_at = now() - make_interval(secs => 2 * recover_step_seconds + 1)`,
    );
    expect(await app.fleet!.reconcile()).toMatchObject({ desired: 7, pressureLimit: 7 });
    await test_.db.query(
      `update public.fleet_state set pressure_at = now() - make_interval(secs => 5 * recover_step_seconds + 1)`,
    );
    expect(await app.fleet!.reconcile()).toMatchObject({ desired: 10, pressureLimit: null });
    const [state] = await test_.db.query<{ pressure_limit: number | null; pressure_events: number }>(
      'select pressure_limit, pressure_events from public.fleet_state',
    );
    expect(state).toEqual({ pressure_limit: null, pressure_events: 2 });
  });
});
