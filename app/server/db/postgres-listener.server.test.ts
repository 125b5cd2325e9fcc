import { inject } from 'vitest';

import { createOfflineGenerator } from '../generators/offline.server';
import { silentLogger } from '../log.server';
import { subscribeLiveFeed } from '../live-feed.server';
import { cancelJob, submitJob } from '../queue.server';
import { JobRunner } from '../../../worker/job-runner';
import { databaseTargets, type TestDatabase } from '../../../test/support/databases';
import { jobRow, newJob, seededChapterIds } from '../../../test/support/fixtures';
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy';
import type { Database, ListenerState } from './port.server';
import { openPostgres } from './postgres.server';

/**
 * The PostgreSQL adapter's LISTEN connection under faults, through a TCP proxy: a path that
 * dies for longer than one retry, and a path that never delivers notifications (what LISTEN
 * through a transaction-mode pooler looks like). PGlite is in-process and never drops.
 */
const postgres = databaseTargets().find((target) => target.name === 'postgres');

describe.skipIf(!inject('postgresTemplateUrl'))('the PostgreSQL listener under faults', () => {
  let test_: TestDatabase;
  let proxy: TcpProxy;
  let db: Database;

  beforeEach(async () => {
    test_ = await postgres!.create();
  }, 60_000);
  afterEach(async () => {
    await db?.close();
    await proxy?.close();
    await test_.drop();
  }, 60_000);

  function proxyTarget() {
    const target = new URL(test_.url!);
    return { targetHost: target.hostname, targetPort: Number(target.port || 5432) };
  }

  async function openThroughProxy(options: { dropNotifications?: boolean } = {}) {
    proxy = await startTcpProxy({ ...proxyTarget(), ...options });
    db = openPostgres({ connectionString: test_.url!, listenConnectionString: proxy.url(test_.url!), poolSize: 4 });
    return db;
  }

  it('comes back after the path is down through several retries, LISTENs again and says it reconnected', async () => {
    const db = await openThroughProxy();
    const received: string[] = [];
    const changes: { state: ListenerState; reconnected: boolean }[] = [];
    db.onListenerChange((state, reconnected) => changes.push({ state, reconnected }));
    await db.listen('chaos_channel', (payload) => received.push(payload));
    await expect.poll(() => db.listenerState().mode, { timeout: 5_000 }).toBe('listen');

    proxy.cut();
    await expect.poll(() => db.listenerState().connection, { timeout: 5_000 }).toBe('reconnecting');
    // Long enough for several reconnect attempts to fail (the old listener gave up after one).
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(db.listenerState()).toMatchObject({ connection: 'reconnecting' });
    expect(db.listenerState().lastError).toBeTruthy();
    proxy.restore();

    await expect.poll(() => db.listenerState().connection, { timeout: 5_000, interval: 50 }).toBe('connected');
    expect(changes.filter((change) => change.reconnected)).toHaveLength(1);
    expect(db.listenerState().reconnects).toBe(1);
    await db.query(`select pg_notify('chaos_channel', 'after the cut')`);
    await expect.poll(() => received, { timeout: 2_000 }).toContain('after the cut');
  }, 60_000);

  it('detects a LISTEN that never delivers, says so, and the worker polls for new jobs and cancels', async () => {
    const db = await openThroughProxy({ dropNotifications: true });
    const chapters = await seededChapterIds(db);
    // A 30 s lease heartbeats every 10 s, so only the poll can notice a cancel within seconds.
    const runner = new JobRunner({
      db,
      generator: createOfflineGenerator({ delayMs: 150 }),
      leaseSeconds: 30,
      log: silentLogger,
    });
    await runner.start();
    await expect
      .poll(() => db.listenerState(), { timeout: 5_000 })
      .toMatchObject({
        connection: 'connected',
        mode: 'polling',
      });

    // Submitted after start: no NOTIFY arrives, so only the poll can find it.
    const { jobId } = await submitJob(db, newJob(chapters[0]));
    await expect.poll(async () => (await jobRow(db, jobId)).status, { timeout: 3_000, interval: 50 }).toBe('running');
    expect(await cancelJob(db, jobId, 'cm')).toBe('running');
    await expect.poll(async () => (await jobRow(db, jobId)).status, { timeout: 3_000, interval: 50 }).toBe('cancelled');
    await runner.stop();

    const [heartbeat] = await db.query<{ listener: { mode: string } }>(
      'select listener from public.worker_heartbeats where worker_id = $1',
      [runner.workerId],
    );
    expect(heartbeat.listener.mode).toBe('polling');
  }, 60_000);

  it('keeps /live delivering every job change while the LISTEN path is down, and through a deaf one', async () => {
    const db = await openThroughProxy();
    const chapters = await seededChapterIds(db);
    const jobs: string[] = [];
    const unsubscribe = await subscribeLiveFeed(db, {
      onJobs: (payload) => jobs.push(payload),
      onReload: () => undefined,
    });
    await expect.poll(() => db.listenerState().mode, { timeout: 5_000 }).toBe('listen');
    proxy.cut();
    await expect.poll(() => db.listenerState().connection, { timeout: 5_000 }).toBe('reconnecting');
    // /live reads job_events itself: a job submitted while nothing can be heard is still sent.
    const { jobId: whileDown } = await submitJob(db, newJob(chapters[0]));
    await expect.poll(() => jobs.some((payload) => payload.includes(whileDown)), { timeout: 3_000 }).toBe(true);
    proxy.restore();
    await expect.poll(() => db.listenerState().connection, { timeout: 5_000 }).toBe('connected');
    await unsubscribe();

    const deafProxy = await startTcpProxy({ ...proxyTarget(), dropNotifications: true });
    const deaf = openPostgres({
      connectionString: test_.url!,
      listenConnectionString: deafProxy.url(test_.url!),
      poolSize: 2,
    });
    try {
      const deafJobs: string[] = [];
      const stop = await subscribeLiveFeed(deaf, {
        onJobs: (payload) => deafJobs.push(payload),
        onReload: () => undefined,
      });
      await expect.poll(() => deaf.listenerState().mode, { timeout: 5_000 }).toBe('polling');
      const { jobId } = await submitJob(deaf, newJob(chapters[1]));
      await cancelJob(deaf, jobId, 'cm');
      await expect
        .poll(
          () =>
            deafJobs.flatMap((payload) =>
              (JSON.parse(payload) as { jobs: { id: string; status: string }[] }).jobs
                .filter((job) => job.id === jobId)
                .map((job) => job.status),
            ),
          { timeout: 3_000 },
        )
        .toEqual(['pending', 'cancelled']);
      await stop();
    } finally {
      await deaf.close();
      await deafProxy.close();
    }
  }, 60_000);

  it('opens a /live feed while the database is unreachable, and delivers once it is back', async () => {
    proxy = await startTcpProxy(proxyTarget());
    db = openPostgres({ connectionString: proxy.url(test_.url!), poolSize: 2 });
    const chapters = await seededChapterIds(test_.db);
    proxy.cut();
    const jobs: string[] = [];
    let reloads = 0;
    const unsubscribe = await subscribeLiveFeed(db, {
      onJobs: (payload) => jobs.push(payload),
      onReload: () => (reloads += 1),
    });
    proxy.restore();
    await expect.poll(() => reloads, { timeout: 5_000 }).toBeGreaterThan(0);
    const { jobId } = await submitJob(test_.db, newJob(chapters[0]));
    await expect.poll(() => jobs.some((payload) => payload.includes(jobId)), { timeout: 5_000 }).toBe(true);
    await unsubscribe();
  }, 60_000);

  it('reports a listener that delivers as listening', async () => {
    const db = await openThroughProxy();
    await db.listen('chaos_channel', () => undefined);
    await expect
      .poll(() => db.listenerState(), { timeout: 5_000 })
      .toMatchObject({
        connection: 'connected',
        mode: 'listen',
      });
  }, 60_000);
});
