import { createCloudRunControl } from '../../app/server/cloud-run.server';
import { claimJobs, completeJob, failJob, submitJob, workerHeartbeat } from '../../app/server/queue.server';
import { operateWorkerService } from '../../app/server/services/worker-ops.server';
import {
  IMAGE,
  MODIFIER,
  PROJECT,
  REGION,
  SERVICE,
  SERVICE_NAME,
  startCloudRunStandIn,
  type CloudRunStandIn,
} from '../support/cloud-run-stand-in';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { newJob, seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

const REV = {
  first: 'switchyard-worker-00001-abc',
  second: 'switchyard-worker-00002-def',
  third: 'switchyard-worker-00003-ghi',
  broken: 'switchyard-worker-00004-jkl',
};
const OPERATION_POLL = /^\/v2\/projects\/switchyard-test\/locations\/europe-west1\/operations\/[\w-]+$/;
const DATA = '?_data=routes%2Fworker';
/** Rendered HTML without the markers React puts between adjacent text nodes. */
const textOf = (html: string) => html.replaceAll('<!-- -->', '');

describe.each(databaseTargets())('worker operations on $name', (target) => {
  let cloudRun: CloudRunStandIn;
  let test_: TestDatabase;
  let app: TestApp;
  let ops: { email: string; cookie: string };

  beforeAll(async () => {
    cloudRun = await startCloudRunStandIn();
  });
  afterAll(() => cloudRun.close());

  beforeEach(async () => {
    cloudRun.reset();
    test_ = await target.create();
    app = await createTestApp(test_.db, cloudRun.env);
    ops = await app.staffSession('ops');
  });
  afterEach(() => test_.drop());

  /** Posts a Worker page form, confirmed and against the current etag unless told otherwise. */
  const act = (fields: Record<string, string | string[]>, cookie = ops.cookie, path = `/worker${DATA}`) =>
    app.request(path, {
      method: 'POST',
      cookie,
      body: app.form({ confirm: 'yes', etag: cloudRun.service().etag, ...fields }),
    });
  const answer = async (response: Response) =>
    ({ status: response.status, ...(await response.json()) }) as { status: number; ok: boolean; message: string };
  const auditRows = () =>
    test_.db.query<{ actor: string; action: string; target_type: string; target_id: string; detail: any }>(
      `select actor, action, target_type, target_id, detail from public.audit_log where action like 'worker.%' order by id`,
    );

  it('renders the service, its traffic and revisions as the Cloud Run Admin API reports them, to every role', async () => {
    const viewer = await app.staffSession('content_manager');
    const data = await (await app.request(`/worker${DATA}`, { cookie: viewer.cookie })).json();
    expect(data.cloudRun).toMatchObject({ configured: true, serviceName: SERVICE_NAME, error: null });
    expect(data.cloudRun.state.service).toEqual({
      name: SERVICE_NAME,
      uri: 'https://switchyard-worker-abc123-ew.a.run.app',
      ready: {
        state: 'failed',
        message: "Revision 'switchyard-worker-00004-jkl' is not ready and cannot serve traffic.",
        since: '2026-11-28T09:00:00.000Z',
      },
      reconciling: false,
      latestCreatedRevision: REV.broken,
      latestReadyRevision: REV.third,
      traffic: [
        { kind: 'latest', revision: null, percent: 100, tag: null, uri: null },
        { kind: 'revision', revision: REV.second, percent: 0, tag: 'previous', uri: null },
      ],
      trafficStatuses: [
        { kind: 'latest', revision: REV.third, percent: 100, tag: null, uri: null },
        {
          kind: 'revision',
          revision: REV.second,
          percent: 0,
          tag: 'previous',
          uri: 'https://previous---switchyard-worker-abc123-ew.a.run.app',
        },
      ],
      scaling: { minInstances: 0, maxInstances: 20, mode: 'automatic' },
      revisionScaling: { minInstances: 0, maxInstances: 10 },
      concurrency: 1,
      timeoutSeconds: 900,
      cpu: '2',
      memory: '4Gi',
      image: IMAGE('sha-4'),
      updatedAt: '2026-11-28T09:00:00.250Z',
      lastModifier: 'ops@switchyard.example',
      etag: '"etag-1"',
    });
    expect(
      data.cloudRun.state.revisions.map((r: any) => [
        r.name,
        r.createdAt,
        r.image,
        r.ready.state,
        r.trafficPercent,
        r.tags,
      ]),
    ).toEqual([
      [REV.broken, '2026-11-28T09:00:00.000Z', IMAGE('sha-4'), 'failed', 0, []],
      [REV.third, '2026-11-27T09:00:00.000Z', IMAGE('sha-3'), 'ready', 100, []],
      [REV.second, '2026-11-24T09:00:00.000Z', IMAGE('sha-2'), 'ready', 0, ['previous']],
      [REV.first, '2026-11-20T09:00:00.000Z', IMAGE('sha-1'), 'ready', 0, []],
    ]);

    const page = await app.request('/worker', { cookie: viewer.cookie });
    expect(page.status).toBe(200);
    const html = textOf(await page.text());
    for (const text of [
      'https://switchyard-worker-abc123-ew.a.run.app',
      'is not ready and cannot serve traffic.',
      `latest created: ${REV.broken} (not ready)`,
      '0 – 20',
      '900 s',
      '2 / 4Gi',
      'by ops@switchyard.example',
      IMAGE('sha-1'),
      'The user-provided container failed to start',
    ])
      expect(html).toContain(text);
    expect(html).toMatch(new RegExp(`data-testid="revision-${REV.third}".*?100%</td>`, 's'));
    // Reading is for everyone; the forms are for those who may act.
    expect(html).not.toContain('Change the service');

    const opsHtml = await (await app.request('/worker', { cookie: ops.cookie })).text();
    expect(opsHtml).toContain('Change the service');
    expect(opsHtml).toContain('name="etag" value="&quot;etag-1&quot;"');
    // Three forms (instances, split, rollback), each refusing to submit unconfirmed even without JavaScript.
    expect(opsHtml.match(/<input type="checkbox" name="confirm" required="" value="yes"\/>/g)).toHaveLength(3);
    expect(cloudRun.patches).toEqual([]);
  });

  it('sets min and max instances with one PATCH of service-level scaling and the etag, answering after the operation is done', async () => {
    const result = await answer(await act({ intent: 'scale', minInstances: '1', maxInstances: '5' }));
    expect(result).toEqual({
      status: 200,
      ok: true,
      message: 'Scaling changed: the service now runs 1 to 5 instances. Cloud Run finished the change.',
    });
    expect(cloudRun.patches).toEqual([
      {
        updateMask: 'scaling',
        query: { updateMask: 'scaling', $alt: 'json;enum-encoding=int' },
        body: { labels: {}, annotations: {}, scaling: { minInstanceCount: 1, maxInstanceCount: 5 }, etag: '"etag-1"' },
      },
    ]);
    // The stand-in applies a change only when its operation completes: it had, before the answer.
    expect(cloudRun.service()).toMatchObject({
      scaling: { minInstanceCount: 1, maxInstanceCount: 5 },
      lastModifier: MODIFIER,
      etag: '"etag-2"',
    });
    expect(cloudRun.requests.filter((r) => r.method === 'GET' && OPERATION_POLL.test(r.path))).toHaveLength(2);
    expect(await auditRows()).toEqual([
      {
        actor: ops.email,
        action: 'worker.scale',
        target_type: 'cloud_run_service',
        target_id: SERVICE_NAME,
        detail: {
          outcome: 'done',
          change: { kind: 'scaling', minInstances: 1, maxInstances: 5 },
          etag: '"etag-1"',
          operation: expect.stringMatching(/^projects\/switchyard-test\/locations\/europe-west1\/operations\//),
        },
      },
    ]);
    const data = await (await app.request(`/worker${DATA}`, { cookie: ops.cookie })).json();
    expect(data.cloudRun.state.service).toMatchObject({
      scaling: { minInstances: 1, maxInstances: 5 },
      lastModifier: MODIFIER,
    });
  });

  it('splits traffic 90/10 between named revisions as integer-typed REVISION routes, keeping tagged URLs', async () => {
    const result = await answer(
      await act({ intent: 'split', revision: [REV.third, REV.second, REV.first], percent: ['90', '10', ''] }),
    );
    expect(result).toEqual({
      status: 200,
      ok: true,
      message: `Traffic split changed: ${REV.third} 90%, ${REV.second} 10%. Cloud Run finished the change.`,
    });
    expect(cloudRun.patches).toHaveLength(1);
    expect(cloudRun.patches[0].updateMask).toBe('traffic');
    expect(cloudRun.patches[0].body).toEqual({
      labels: {},
      annotations: {},
      traffic: [
        { type: 2, revision: REV.third, percent: 90 },
        { type: 2, revision: REV.second, percent: 10 },
        { type: 2, revision: REV.second, percent: 0, tag: 'previous' },
      ],
      etag: '"etag-1"',
    });
    const data = await (await app.request(`/worker${DATA}`, { cookie: ops.cookie })).json();
    expect(data.cloudRun.state.revisions.map((r: any) => [r.name, r.trafficPercent])).toEqual([
      [REV.broken, 0],
      [REV.third, 90],
      [REV.second, 10],
      [REV.first, 0],
    ]);
    expect((await auditRows()).map((row) => [row.action, row.detail.outcome])).toEqual([['worker.split', 'done']]);
  });

  it('rolls back by sending 100% to an earlier ready revision', async () => {
    const result = await answer(await act({ intent: 'rollback', revision: REV.first }));
    expect(result).toMatchObject({
      status: 200,
      ok: true,
      message: `Rolled back: revision ${REV.first} now serves 100% of traffic. Cloud Run finished the change.`,
    });
    expect(cloudRun.patches.map((patch) => [patch.updateMask, patch.body.traffic])).toEqual([
      [
        'traffic',
        [
          { type: 2, revision: REV.first, percent: 100 },
          { type: 2, revision: REV.second, percent: 0, tag: 'previous' },
        ],
      ],
    ]);
    expect(cloudRun.service().trafficStatuses).toEqual([
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: REV.first, percent: 100 },
      {
        type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION',
        revision: REV.second,
        tag: 'previous',
        uri: 'https://previous---switchyard-worker-abc123-ew.a.run.app',
      },
    ]);
    expect((await auditRows()).map((row) => [row.action, row.detail.outcome])).toEqual([['worker.rollback', 'done']]);
  });

  it('refuses a bad split, an unready or unknown revision, a missing confirmation and impossible bounds before changing anything', async () => {
    const refusals: [Record<string, string | string[]>, RegExp][] = [
      [{ intent: 'split', revision: [REV.third, REV.second], percent: ['90', '5'] }, /add up to 95%, not 100%/],
      [{ intent: 'split', revision: [REV.third, REV.third], percent: ['50', '50'] }, /appears twice/],
      [{ intent: 'split', revision: [REV.third, REV.second], percent: ['90', '10.5'] }, /whole percentage/],
      [{ intent: 'scale', minInstances: '6', maxInstances: '5' }, /Minimum instances \(6\) cannot exceed maximum/],
      [{ intent: 'scale', minInstances: '0', maxInstances: '0' }, /at least 1/],
      [{ intent: 'scale', minInstances: '1', maxInstances: '5', confirm: '' }, /Tick the confirmation box/],
    ];
    for (const [fields, message] of refusals) {
      const result = await answer(await act(fields));
      expect(result, JSON.stringify(fields)).toMatchObject({
        status: 400,
        ok: false,
        message: expect.stringMatching(message),
      });
    }
    // None of those needed Cloud Run at all.
    expect(cloudRun.requests).toEqual([]);

    const needState: [Record<string, string | string[]>, RegExp][] = [
      [
        { intent: 'split', revision: ['switchyard-worker-99999-zzz', REV.third], percent: ['10', '90'] },
        /Revision switchyard-worker-99999-zzz does not exist in this service\. Choose one of: switchyard-worker-00004-jkl/,
      ],
      [
        { intent: 'split', revision: [REV.broken, REV.third], percent: ['10', '90'] },
        /switchyard-worker-00004-jkl is not ready/,
      ],
      [{ intent: 'rollback', revision: REV.broken }, /is not ready .*Choose a ready revision/],
      [{ intent: 'rollback', revision: REV.third }, /already serves all traffic/],
    ];
    for (const [fields, message] of needState) {
      const result = await answer(await act(fields));
      expect(result, JSON.stringify(fields)).toMatchObject({
        status: 400,
        ok: false,
        message: expect.stringMatching(message),
      });
    }
    expect(cloudRun.patches).toEqual([]);
    expect(cloudRun.requests.every((request) => request.method === 'GET')).toBe(true);
    expect(cloudRun.service().etag).toBe('"etag-1"');
    expect(await auditRows()).toEqual([]);
  });

  it('shows an etag conflict as such and changes nothing, whether the page or the write was stale', async () => {
    // Someone changes the service between our read and our write: Cloud Run answers 409 ABORTED.
    cloudRun.conflictNextUpdate();
    const raced = await answer(await act({ intent: 'scale', minInstances: '2', maxInstances: '8' }));
    expect(raced.status).toBe(409);
    expect(raced.ok).toBe(false);
    expect(raced.message).toMatch(/^Nothing was changed: Cloud Run refused the update because the service changed/);
    expect(raced.message).toContain('ABORTED');
    expect(cloudRun.patches).toHaveLength(1);
    expect(cloudRun.service()).toMatchObject({
      scaling: { minInstanceCount: 0, maxInstanceCount: 20 },
      lastModifier: 'someone-else@switchyard.example',
    });
    expect(cloudRun.requests.some((r) => OPERATION_POLL.test(r.path))).toBe(false);
    expect((await auditRows()).map((row) => [row.action, row.detail.outcome])).toEqual([['worker.scale', 'conflict']]);

    // The page was drawn before a change elsewhere: refused without a write, as a plain HTML form post.
    const staleEtag = cloudRun.service().etag;
    cloudRun.changeElsewhere();
    const page = await app.request('/worker', {
      method: 'POST',
      cookie: ops.cookie,
      body: app.form({ intent: 'rollback', revision: REV.first, confirm: 'yes', etag: staleEtag }),
    });
    expect(page.status).toBe(409);
    const html = await page.text();
    expect(html).toContain('class="toast toast-error"');
    expect(html).toContain(
      'Nothing was changed: the service was changed by someone-else@switchyard.example after this page was loaded.',
    );
    expect(cloudRun.patches).toHaveLength(1);
  });

  it('shows a failed operation as such and changes nothing', async () => {
    cloudRun.failNextUpdate({ code: 9, message: 'Revision switchyard-worker-00001-abc is retired and cannot serve.' });
    const result = await answer(await act({ intent: 'rollback', revision: REV.first }));
    expect(result).toEqual({
      status: 502,
      ok: false,
      message:
        'Cloud Run did not make the change: Revision switchyard-worker-00001-abc is retired and cannot serve. The page below shows the service as Cloud Run has it now.',
    });
    expect(cloudRun.patches).toHaveLength(1);
    expect(cloudRun.service()).toMatchObject({ etag: '"etag-1"', lastModifier: 'ops@switchyard.example' });
    expect(cloudRun.service().trafficStatuses[0]).toMatchObject({ revision: REV.third, percent: 100 });
    const [row] = await auditRows();
    expect(row).toMatchObject({
      action: 'worker.rollback',
      detail: {
        outcome: 'failed',
        code: 9,
        error: 'Revision switchyard-worker-00001-abc is retired and cannot serve.',
      },
    });
  });

  it('reports an operation that does not finish in time as unfinished, never as done', async () => {
    const control = createCloudRunControl({
      project: PROJECT,
      region: REGION,
      service: SERVICE,
      apiEndpoint: cloudRun.apiEndpoint,
      operationTimeoutMs: 800,
    });
    cloudRun.stallNextUpdate();
    const result = await operateWorkerService(test_.db, control, ops.email, {
      intent: 'scale',
      etag: cloudRun.service().etag,
      minInstances: 1,
      maxInstances: 3,
    });
    expect(result).toMatchObject({ ok: false, status: 202 });
    expect(result.message).toMatch(
      /^Cloud Run accepted the change but had not finished it after \d+ s \(operation projects\//,
    );
    expect(cloudRun.service().scaling).toEqual({ minInstanceCount: 0, maxInstanceCount: 20 });
    expect((await auditRows()).map((row) => row.detail.outcome)).toEqual(['unfinished']);
  });

  it('lets only ops and admin act: content managers and finance get 403, anonymous callers go to sign-in', async () => {
    const fields = { intent: 'scale', minInstances: '1', maxInstances: '4' };
    for (const role of ['content_manager', 'finance'] as const) {
      const { cookie } = await app.staffSession(role);
      const refused = await act(fields, cookie, '/worker');
      expect(refused.status, role).toBe(403);
    }
    const anonymous = await act(fields, '', '/worker');
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toMatch(/^\/sign-in\?redirectTo=/);
    expect(cloudRun.requests).toEqual([]);

    expect((await act(fields)).status).toBe(200);
    const admin = await app.staffSession('admin');
    expect((await act({ ...fields, maxInstances: '6' }, admin.cookie)).status).toBe(200);
    expect(cloudRun.patches.map((patch) => patch.body.scaling)).toEqual([
      { minInstanceCount: 1, maxInstanceCount: 4 },
      { minInstanceCount: 1, maxInstanceCount: 6 },
    ]);
    expect((await auditRows()).map((row) => row.actor)).toEqual([ops.email, admin.email]);
  });

  it('says plainly when the service cannot be read, and keeps showing the database part', async () => {
    const unreachable = await createTestApp(test_.db, {
      ...cloudRun.env,
      CLOUD_RUN_SERVICE: 'no-such-service',
    });
    const html = textOf(await (await unreachable.request('/worker', { cookie: ops.cookie })).text());
    expect(html).toContain('could not be read: NOT_FOUND: The stand-in does not serve GET');
    expect(html).toContain('Cloud Run Viewer role');
    expect(html).toContain('Live instances');
  });
});

describe.each(databaseTargets())('live workers and the queue on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let chapters: string[];

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
    // No Cloud Run configuration: the database part must work on its own.
    app = await createTestApp(test_.db);
  });
  afterEach(() => test_.drop());

  const usage = {
    generator: 'offline' as const,
    inputTokens: 10,
    outputTokens: 20,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    cacheReadTokens: 0,
    busyMs: 100,
  };

  it('shows heartbeating instances with their jobs, marks stale ones, and reports queue depth, the oldest waiting job and jobs per minute', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i += 1) ids.push((await submitJob(test_.db, newJob(chapters[i]))).jobId);
    const claimed = await claimJobs(test_.db, 'worker-a', 30, 3);
    expect(claimed).toHaveLength(3);
    await completeJob(test_.db, claimed[0].id, 'worker-a', { content: '# one', stopReason: 'end_turn', usage });
    await completeJob(test_.db, claimed[1].id, 'worker-a', { content: '# two', stopReason: 'end_turn', usage });
    await failJob(test_.db, claimed[2].id, 'worker-a', { code: 'bad', message: 'no', retryable: false, usage });
    // One of the successes finished outside the 10-minute window.
    await test_.db.query(
      `update public.chapter_content_jobs set finished_at = now() - interval '20 minutes' where id = $1`,
      [claimed[1].id],
    );
    const [running] = await claimJobs(test_.db, 'worker-live', 30, 1);
    const waiting = ids.filter((id) => !claimed.some((job) => job.id === id) && id !== running.id);
    expect(waiting).toHaveLength(2);
    await test_.db.query(
      `update public.chapter_content_jobs set created_at = now() - interval '15 minutes' where id = $1`,
      [waiting[1]],
    );

    await workerHeartbeat(test_.db, {
      id: 'worker-live',
      host: 'run-abc',
      currentJobId: running.id,
      succeeded: 4,
      failed: 1,
      stopped: false,
    });
    await workerHeartbeat(test_.db, {
      id: 'worker-stale',
      host: 'run-def',
      currentJobId: null,
      succeeded: 2,
      failed: 0,
      stopped: false,
    });
    await workerHeartbeat(test_.db, {
      id: 'worker-stopped',
      host: 'run-ghi',
      currentJobId: null,
      succeeded: 9,
      failed: 0,
      stopped: true,
    });
    await test_.db.query(
      `update public.worker_heartbeats set last_seen_at = now() - interval '5 minutes' where worker_id = 'worker-stale'`,
    );

    const viewer = await app.staffSession('finance');
    const data = await (await app.request(`/worker${DATA}`, { cookie: viewer.cookie })).json();
    expect(data.cloudRun).toEqual({ configured: false });
    expect(data.queue).toEqual({
      depth: 2,
      oldestWaiting: { jobId: waiting[1], since: expect.any(String) },
      finishedInWindow: 2,
      windowMinutes: 10,
      perMinute: 0.2,
    });
    expect(
      data.workers.map((w: any) => [
        w.workerId,
        w.host,
        w.currentJobId,
        w.jobsSucceeded,
        w.stale,
        w.stoppedAt !== null,
      ]),
    ).toEqual([
      ['worker-live', 'run-abc', running.id, 4, false, false],
      ['worker-stale', 'run-def', null, 2, true, false],
      ['worker-stopped', 'run-ghi', null, 9, false, true],
    ]);

    const html = textOf(await (await app.request('/worker', { cookie: viewer.cookie })).text());
    expect(html).toContain('Cloud Run is not configured');
    expect(html).toMatch(/data-testid="worker-worker-stale".*?badge-failed">stale</s);
    expect(html).toMatch(/data-testid="worker-worker-live".*?badge-succeeded">live</s);
    expect(html).toContain(`href="/jobs/${running.id}"`);
    expect(html).toContain(`href="/jobs/${waiting[1]}"`);
    expect(html).toMatch(/data-testid="jobs-per-minute">0\.2</);
  });

  it('refuses actions plainly when Cloud Run is not configured', async () => {
    const ops = await app.staffSession('ops');
    const response = await app.request(`/worker${DATA}`, {
      method: 'POST',
      cookie: ops.cookie,
      body: app.form({ intent: 'scale', minInstances: '1', maxInstances: '2', confirm: 'yes', etag: 'x' }),
    });
    expect(response.status).toBe(503);
    expect((await response.json()).message).toMatch(/^Cloud Run is not configured: set CLOUD_RUN_PROJECT/);
  });
});
