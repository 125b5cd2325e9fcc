import { submitBatch } from '../../app/server/queue.server';
import { startCloudRunStandIn, type CloudRunStandIn } from '../support/cloud-run-stand-in';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { newJob, seededChapterIds } from '../support/fixtures';
import { createTestApp } from '../support/remix-app';

const WORKER = { WORKER_URL: 'http://127.0.0.1:9', WORKER_WAKE_SECRET: 'wake-secret-for-the-page' };
const textOf = (html: string) => html.replaceAll('<!-- -->', '');

describe.each(databaseTargets())('fleet scaling on the Worker and batch pages, on $name', (target) => {
  let cloudRun: CloudRunStandIn;
  let test_: TestDatabase;

  beforeAll(async () => {
    cloudRun = await startCloudRunStandIn();
  });
  afterAll(() => cloudRun.close());
  beforeEach(async () => {
    cloudRun.reset();
    test_ = await target.create();
  });
  afterEach(() => test_.drop());

  /** A batch of `pending` waiting jobs and two that took 30 s each. */
  async function batchWithTiming(pending: number) {
    const chapters = await seededChapterIds(test_.db);
    const { batchId } = await submitBatch(
      test_.db,
      { name: 'Fleet batch', createdBy: 'cm@example.com' },
      chapters.slice(0, pending + 2).map((id) => newJob(id, { dispatched: true })),
    );
    await test_.db.query(
      `update public.chapter_content_jobs set status = 'succeeded', started_at = now() - interval '40 seconds',
         finished_at = now() - interval '10 seconds', attempts = 1
       where id in (select id from public.chapter_content_jobs where batch_id = $1 order by id limit 2)`,
      [batchId],
    );
    return batchId;
  }

  it('shows desired vs running instances, wake-ups in flight and the back-pressure, with the max from Cloud Run', async () => {
    const app = await createTestApp(test_.db, { ...cloudRun.env, ...WORKER, FLEET_MAX_INSTANCES: '3' });
    const viewer = await app.staffSession('content_manager');
    await batchWithTiming(14);
    // Three wake-ups out: two taken by workers, one still starting; a 429 halved the fleet.
    await test_.db.query(
      `insert into public.worker_wakeups (sent_by, expires_at, picked_up_at, worker_id)
       values ('app', now() + interval '15 minutes', now(), 'w1'), ('app', now() + interval '15 minutes', now(), 'w2'),
              ('app', now() + interval '30 seconds', null, null)`,
    );
    await test_.db.query(
      `update public.fleet_state set pressure_limit = 4, pressure_at = now(), pressure_events = 1,
         last_pressure_code = 'rate_limit_error'`,
    );
    const data = await (await app.request('/worker?_data=routes%2Fworker', { cookie: viewer.cookie })).json();
    // The service's own limits (20 service-level, 10 in the template) win over FLEET_MAX_INSTANCES.
    expect(data.fleet).toMatchObject({
      maxInstances: 10,
      runnable: 10,
      desired: 4,
      inFlight: 3,
      pickedUp: 2,
      pressure: { limit: 4, events: 1, lastCode: 'rate_limit_error', recoverStepSeconds: 15 },
    });
    const html = textOf(await (await app.request('/worker', { cookie: viewer.cookie })).text());
    expect(html).toContain('Fleet scaling');
    expect(html).toContain('limited to 4');
    expect(html).toContain('after a 429 rate limit');
  });

  it('says plainly when there is no worker service to scale', async () => {
    const app = await createTestApp(test_.db);
    const viewer = await app.staffSession('content_manager');
    const html = textOf(await (await app.request('/worker', { cookie: viewer.cookie })).text());
    expect(html).toContain('No worker service to scale');
    const data = await (await app.request('/worker?_data=routes%2Fworker', { cookie: viewer.cookie })).json();
    expect(data.fleet).toBeNull();
  });

  it("gives a batch's ETA from the fleet's size and how long its chapters take", async () => {
    const app = await createTestApp(test_.db, { ...WORKER, FLEET_MAX_INSTANCES: '4' });
    const viewer = await app.staffSession('content_manager');
    const batchId = await batchWithTiming(10);
    const page = (await (
      await app.request(`/batches/${batchId}?_data=routes%2Fbatches.%24batchId`, { cookie: viewer.cookie })
    ).json()) as { eta: unknown };
    // Ten left on the four instances the fleet scales out to, 30 s a chapter: three waves.
    expect(page.eta).toEqual({ kind: 'estimate', seconds: 90, instances: 4, scalingOut: true });
    const html = textOf(await (await app.request(`/batches/${batchId}`, { cookie: viewer.cookie })).text());
    expect(html).toContain('about 2 min on 4 instances (scaling out)');
  });
});
