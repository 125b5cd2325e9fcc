import { DEFAULT_ROUTING_CONFIG, type RoutingConfig } from '../../app/domain/routing';
import { createApiToken } from '../../app/server/auth/api-tokens.server';
import { createAnthropicGenerator } from '../../app/server/generators/anthropic.server';
import { createOfflineGenerator } from '../../app/server/generators/offline.server';
import { silentLogger } from '../../app/server/log.server';
import { activeRoutingConfig, forgetActiveRoutingConfig } from '../../app/server/routing-config.server';
import {
  publishRoutingVersion,
  revertToVersion,
  saveRoutingVersion,
} from '../../app/server/services/routing-control.server';
import { confirmPublished, stopReadBacks } from '../../app/server/services/routing-readback.server';
import { JobRunner } from '../../worker/job-runner';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { jobRow, seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';
import { startAnthropicStandIn } from '../support/anthropic-stand-in';
import { startVercelStandIn, type VercelStandIn } from '../support/vercel-stand-in';

const withCanary = (canaryPercent: number, extra: Partial<RoutingConfig> = {}): RoutingConfig => ({
  ...DEFAULT_ROUTING_CONFIG,
  canaryPercent,
  ...extra,
});

describe.each(databaseTargets())('routing control on $name', (target) => {
  let vercel: VercelStandIn;
  let test_: TestDatabase;
  let app: TestApp;

  beforeAll(async () => {
    vercel = await startVercelStandIn();
  });
  afterAll(() => vercel.close());

  beforeEach(async () => {
    vercel.reset();
    test_ = await target.create();
    app = await createTestApp(test_.db, {
      EDGE_CONFIG: vercel.connectionString,
      VERCEL_API_TOKEN: vercel.apiToken,
      VERCEL_API_URL: vercel.apiUrl,
    });
  });
  afterEach(async () => {
    await stopReadBacks();
    await test_.drop();
  });

  const runtime = () => app.runtime;
  const serving = async () => {
    forgetActiveRoutingConfig(test_.db);
    return activeRoutingConfig(runtime());
  };

  it('refuses an invalid config with a message per field and stores nothing', async () => {
    const result = await saveRoutingVersion(
      test_.db,
      'ops@example.com',
      { ...DEFAULT_ROUTING_CONFIG, canaryPercent: 140, stickyKey: 'moon' },
      'bad',
    );
    expect(result).toEqual({
      ok: false,
      kind: 'invalid',
      fields: { canaryPercent: ['must be between 0 and 100'], stickyKey: ['must be chapter, course or user'] },
    });
    expect(await test_.db.query('select 1 from public.control_config_versions')).toEqual([]);
  });

  it('saves a version with its diff, publishes it with the exact PATCH, and the router reads it back through the Edge Config SDK', async () => {
    const saved = await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(10), 'Canary at 10%');
    expect(saved).toEqual({
      ok: true,
      version: 1,
      diff: [{ path: 'canaryPercent', kind: 'changed', before: 100, after: 10 }],
    });
    expect((await serving()).source).toBe('default');

    const published = await publishRoutingVersion(runtime(), 'ops@example.com', 1);
    expect(published).toMatchObject({ ok: true, store: 'edge-config' });
    expect(vercel.patches).toHaveLength(1);
    const patch = vercel.patches[0];
    expect(patch.authorization).toBe(`Bearer ${vercel.apiToken}`);
    expect(patch.body).toEqual({
      items: [
        {
          operation: 'upsert',
          key: 'switchyard_routing',
          value: { version: 1, config: withCanary(10), publishedAt: expect.any(String) },
        },
      ],
    });
    const active = await serving();
    expect(active).toMatchObject({ version: 1, source: 'edge-config', config: { canaryPercent: 10 } });
    const [row] = await test_.db.query<{ published_at: Date | null }>(
      'select published_at from public.control_config_versions where version = 1',
    );
    expect(row.published_at).toBeInstanceOf(Date);
  });

  it('leaves a version unpublished when Vercel refuses the write, and publishes it on retry', async () => {
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(25), 'Canary at 25%');
    vercel.failWrites({ status: 500, message: 'Internal error' });
    const failed = await publishRoutingVersion(runtime(), 'ops@example.com', 1);
    expect(failed).toEqual({
      ok: false,
      version: 1,
      message:
        'Version 1 was not published: Vercel API answered 500: Internal error. It is saved; publish it again to retry.',
      status: 502,
    });
    const [row] = await test_.db.query<{ published_at: Date | null; publish_error: string }>(
      'select published_at, publish_error from public.control_config_versions',
    );
    expect(row).toEqual({ published_at: null, publish_error: 'Vercel API answered 500: Internal error' });
    expect((await serving()).source).toBe('default');

    vercel.failWrites(null);
    expect(await publishRoutingVersion(runtime(), 'ops@example.com', 1)).toMatchObject({ ok: true });
    expect(await serving()).toMatchObject({ version: 1, source: 'edge-config' });
  });

  it('serves the last version published in the database when Edge Config cannot be read', async () => {
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(30), 'Canary at 30%');
    await publishRoutingVersion(runtime(), 'ops@example.com', 1);
    vercel.setReadsDown(true);
    const active = await serving();
    expect(active).toMatchObject({ version: 1, source: 'database', config: { canaryPercent: 30 } });
    expect(active.readError).toMatch(/503|unavailable|Edge Config/i);
  });

  it('reverts by publishing an earlier version as a new one', async () => {
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(10), 'Canary at 10%');
    await publishRoutingVersion(runtime(), 'ops@example.com', 1);
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(50), 'Canary at 50%');
    await publishRoutingVersion(runtime(), 'ops@example.com', 2);
    expect(await revertToVersion(runtime(), 'ops@example.com', 1)).toMatchObject({ ok: true, version: 3 });
    expect(await serving()).toMatchObject({ version: 3, config: { canaryPercent: 10 } });
    const [v3] = await test_.db.query<{ reverted_from: number; comment: string; diff: unknown }>(
      'select reverted_from, comment, diff from public.control_config_versions where version = 3',
    );
    expect(v3).toEqual({
      reverted_from: 1,
      comment: 'Revert to version 1',
      diff: [{ path: 'canaryPercent', kind: 'changed', before: 50, after: 10 }],
    });
    await expect(
      test_.db.query('update public.control_config_versions set config = $1 where version = 1', [withCanary(99)]),
    ).rejects.toThrow(/append-only/);
    const audit = await test_.db.query<{ action: string }>(
      `select action from public.audit_log where action like 'routing.%' order by id`,
    );
    expect(audit.map((row) => row.action)).toEqual([
      'routing.save',
      'routing.publish',
      'routing.save',
      'routing.publish',
      'routing.save',
      'routing.publish',
    ]);
  });

  it('refuses to publish a version older than the live one, and reverts to it as a new version instead', async () => {
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(10), 'Canary at 10%');
    await saveRoutingVersion(test_.db, 'alice@example.com', withCanary(50), 'Canary at 50%');
    expect(await publishRoutingVersion(runtime(), 'alice@example.com', 2)).toMatchObject({ ok: true });
    const stale = await publishRoutingVersion(runtime(), 'ops@example.com', 1);
    expect(stale).toEqual({
      ok: false,
      version: 1,
      status: 409,
      message:
        'Version 1 is older than the live version 2 (published by alice@example.com), so it was not published. ' +
        'To go back to it, revert to it: that publishes a copy as a new version.',
    });
    expect(vercel.patches).toHaveLength(1);
    expect(await serving()).toMatchObject({ version: 2, config: { canaryPercent: 50 } });
    expect(await revertToVersion(runtime(), 'ops@example.com', 1)).toMatchObject({ ok: true, version: 3 });
    expect(await serving()).toMatchObject({ version: 3, config: { canaryPercent: 10 } });
  });

  it('makes concurrent publishes take turns: the later one goes out after the earlier and names it', async () => {
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(10), 'Canary at 10%');
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(20), 'Canary at 20%');
    vercel.slowWrites(300);
    const arrived = vercel.nextPatch();
    const first = publishRoutingVersion(runtime(), 'alice@example.com', 1);
    await arrived;
    const second = await publishRoutingVersion(runtime(), 'bob@example.com', 2);
    expect(await first).toMatchObject({ ok: true, version: 1 });
    expect(second).toMatchObject({
      ok: true,
      version: 2,
      after: { version: 1, publishedBy: 'alice@example.com' },
      message: expect.stringContaining(
        'It went live after version 1, which alice@example.com published while this one waited.',
      ),
    });
    expect(vercel.maxWritesInFlight()).toBe(1);
    expect(vercel.patches.map((patch) => (patch.body as any).items[0].value.version)).toEqual([1, 2]);
    expect(await serving()).toMatchObject({ version: 2 });
  });

  it('refuses the waiting publish when the one it waited for is newer, naming it', async () => {
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(10), 'Canary at 10%');
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(20), 'Canary at 20%');
    vercel.slowWrites(300);
    const arrived = vercel.nextPatch();
    const newer = publishRoutingVersion(runtime(), 'alice@example.com', 2);
    await arrived;
    const older = await publishRoutingVersion(runtime(), 'bob@example.com', 1);
    expect(await newer).toMatchObject({ ok: true, version: 2 });
    expect(older).toMatchObject({
      ok: false,
      status: 409,
      after: { version: 2, publishedBy: 'alice@example.com' },
      message: expect.stringContaining(
        'older than the live version 2 (published by alice@example.com while yours waited)',
      ),
    });
    expect(vercel.patches).toHaveLength(1);
    expect(await serving()).toMatchObject({ version: 2, config: { canaryPercent: 20 } });
  });

  const readBackColumns = async (version: number) =>
    (
      await test_.db.query<{ effective_at: Date | null; propagation_ms: number | null; published_at: Date }>(
        'select effective_at, propagation_ms, published_at from public.control_config_versions where version = $1',
        [version],
      )
    )[0];
  const publishState = async () => {
    const ops = await app.staffSession('ops', `ops-${Math.random().toString(36).slice(2)}@example.com`);
    const html = await (await app.request('/routing', { cookie: ops.cookie })).text();
    return /data-testid="publish-state"[^>]*>([^<]*)</.exec(html)?.[1].replaceAll('&#x27;', "'") ?? null;
  };

  it('confirms a publish by reading it back through the Edge Config client, and records when it took effect', async () => {
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(10), 'Canary at 10%');
    await publishRoutingVersion(runtime(), 'ops@example.com', 1);
    const result = await confirmPublished(runtime(), 1);
    expect(result).toMatchObject({ kind: 'confirmed', version: 1 });
    const row = await readBackColumns(1);
    expect(row.effective_at!.getTime()).toBeGreaterThanOrEqual(row.published_at.getTime());
    expect(row.propagation_ms).toBeLessThan(1000);
    expect(await publishState()).toMatch(/^v1 live since \d\d:\d\d:\d\d UTC \(propagated in \d\.\d s\)\.$/);
  });

  it('keeps a publish "publishing…" while Edge Config serves the old value, then records the propagation time', async () => {
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(10), 'Canary at 10%');
    await publishRoutingVersion(runtime(), 'ops@example.com', 1);
    await confirmPublished(runtime(), 1);
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(30), 'Canary at 30%');
    vercel.lagReads(2000);
    await publishRoutingVersion(runtime(), 'ops@example.com', 2);
    expect(await serving()).toMatchObject({ version: 1, source: 'edge-config' });
    expect(await publishState()).toMatch(/^Publishing v2… Edge Config took the write at .*; waiting for/);
    const result = await confirmPublished(runtime(), 2);
    expect(result).toMatchObject({ kind: 'confirmed', version: 2 });
    if (result.kind !== 'confirmed') return;
    expect(result.propagationMs).toBeGreaterThanOrEqual(1800);
    expect(result.propagationMs).toBeLessThan(6000);
    expect((await readBackColumns(2)).propagation_ms).toBe(result.propagationMs);
    expect(await serving()).toMatchObject({ version: 2, source: 'edge-config' });
    expect(await publishState()).toContain(`(propagated in ${(result.propagationMs / 1000).toFixed(1)} s)`);
  });

  it('flags a publish Edge Config never serves: not confirmed after the deadline, nothing recorded', async () => {
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(10), 'Canary at 10%');
    vercel.lagReads(null);
    expect(await publishRoutingVersion(runtime(), 'ops@example.com', 1)).toMatchObject({ ok: true });
    const result = await confirmPublished(runtime(), 1, { deadlineMs: 1500 });
    expect(result).toEqual({ kind: 'unconfirmed', version: 1, lastServed: null, lastError: null });
    expect(await readBackColumns(1)).toMatchObject({ effective_at: null, propagation_ms: null });
    expect(await publishState()).toMatch(/^Publishing v1…/);
    // The 30 s deadline counts from the acknowledged write: move it 31 s into the past.
    await test_.db.query(
      `update public.control_config_versions set published_at = published_at - interval '31 seconds' where version = 1`,
    );
    expect(await publishState()).toMatch(
      /^v1 is not confirmed live: Edge Config still did not serve it 30 s after the publish/,
    );
  });

  it('without Edge Config, publishing makes a version live in the database and says so', async () => {
    const plain = await createTestApp(test_.db);
    await saveRoutingVersion(test_.db, 'ops@example.com', withCanary(5), 'Canary at 5%');
    const result = await publishRoutingVersion(plain.runtime, 'ops@example.com', 1);
    expect(result).toMatchObject({
      ok: true,
      store: 'database',
      message: expect.stringContaining('Edge Config is not configured'),
    });
    forgetActiveRoutingConfig(test_.db);
    expect(await activeRoutingConfig(plain.runtime)).toMatchObject({ version: 1, source: 'database' });
    expect(vercel.patches).toEqual([]);
  });
});

describe.each(databaseTargets())('the edge and cloud paths on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let chapters: string[];
  let token: string;

  beforeEach(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
    app = await createTestApp(test_.db);
    const admin = await app.staffSession('admin');
    ({ token } = await createApiToken(
      test_.db,
      { id: admin.id, email: admin.email, displayName: 'a', role: 'admin' },
      { name: 'CMS', scopes: ['submit', 'read'] },
    ));
  });
  afterEach(() => test_.drop());

  const submit = (chapterId: string) =>
    app.request('/api/content/generate-chapter', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ chapter_id: chapterId }),
    });

  async function publish(config: RoutingConfig) {
    const saved = await saveRoutingVersion(test_.db, 'ops@example.com', config, 'test');
    if (!saved.ok) throw new Error(JSON.stringify(saved));
    await publishRoutingVersion(app.runtime, 'ops@example.com', saved.version);
    return saved.version;
  }

  it('records the route decision on the job and in x-route-* headers', async () => {
    const version = await publish(withCanary(100));
    const response = await submit(chapters[0]);
    expect(response.status).toBe(202);
    expect(response.headers.get('x-route-config-version')).toBe(String(version));
    expect(response.headers.get('x-route-rule')).toBe('generate');
    expect(Number(response.headers.get('x-route-bucket'))).toBeGreaterThanOrEqual(0);
    const { job_id } = (await response.json()) as { job_id: string };
    expect(await jobRow(test_.db, job_id)).toMatchObject({
      destination: 'cloud',
      route_rule_id: 'generate',
      config_version: version,
      timeout_ms: 300000,
      max_attempts: 3,
    });
  });

  it('with the kill switch on, generates inside the request: 200 with the content, recorded as an edge job with its cost', async () => {
    await publish(withCanary(100, { hybridEnabled: false }));
    const anthropic = await startAnthropicStandIn();
    app.runtime.generator = createAnthropicGenerator({ apiKey: 'sk-ant-test', baseURL: anthropic.url, maxRetries: 0 });
    const response = await submit(chapters[0]);
    await anthropic.close();
    expect(response.status).toBe(200);
    expect(response.headers.get('x-route-destination')).toBe('edge');
    expect(response.headers.get('x-route-override')).toBe('kill-switch');
    const body = (await response.json()) as Record<string, any>;
    expect(body.content).toBe('# A Chapter\n\nIt begins with a sentence, and then another.\n');
    expect(body).toMatchObject({
      status: 'succeeded',
      destination: 'edge',
      generator: 'anthropic',
      usage: { input_tokens: 1200 },
    });
    expect(body.cost.micros.vercel).toBeGreaterThan(0);
    expect(body.cost.micros.input).toBe(2400);
    expect(body.cost.micros.cloud_run).toBe(0);
    expect(app.wakes).toEqual([]);
  });

  it('answers 504 when the edge rule’s timeout passes, with the job recorded as failed: timeout', async () => {
    await publish(
      withCanary(100, { hybridEnabled: false, rules: [{ ...DEFAULT_ROUTING_CONFIG.rules[0], timeoutMs: 300 }] }),
    );
    app.runtime.generator = createOfflineGenerator({ delayMs: 100 });
    const response = await submit(chapters[0]);
    expect(response.status).toBe(504);
    const body = (await response.json()) as { error: { code: string; message: string }; job_id: string };
    expect(body.error).toEqual({
      code: 'timeout',
      message: "Generation did not finish within the route's timeout of 300 ms.",
    });
    expect(await jobRow(test_.db, body.job_id)).toMatchObject({
      status: 'failed',
      error_code: 'timeout',
      destination: 'edge',
      attempts: 1,
    });
  });

  it.each([
    ['outside a 0 % canary', withCanary(0)],
    ['with the kill switch on', withCanary(100, { hybridEnabled: false })],
  ])('queues a batch %s instead of generating it in the request, and says why', async (_name, config) => {
    await publish(config);
    const response = await app.request('/api/content/batch-generate', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ chapter_ids: chapters.slice(0, 4), name: 'Canary batch' }),
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('x-route-destination')).toBe('cloud');
    expect(response.headers.get('x-route-override')).toBe('batch-always-queued');
    const body = (await response.json()) as { batch_id: string; job_ids: string[]; status: string };
    expect(body).toMatchObject({ status: 'pending', status_url: `/api/batches/${body.batch_id}` });
    expect(body.job_ids).toHaveLength(4);
    for (const id of body.job_ids)
      expect(await jobRow(test_.db, id)).toMatchObject({ status: 'pending', destination: 'cloud', attempts: 0 });
    expect(app.wakes).toHaveLength(1);

    // The Queue page's batch submit takes the same path.
    const cm = await app.staffSession('content_manager');
    const page = await app.request('/submit', {
      method: 'POST',
      cookie: cm.cookie,
      body: app.form({ mode: 'batch', chapter_ids: chapters.slice(4, 7), name: 'From the page' }),
    });
    expect(page.status).toBe(302);
    const batchId = page.headers.get('location')!.split('/').pop();
    const jobs = await test_.db.query<{ status: string; destination: string }>(
      'select status, destination from public.chapter_content_jobs where batch_id = $1',
      [batchId],
    );
    expect(jobs).toEqual(Array.from({ length: 3 }, () => ({ status: 'pending', destination: 'cloud' })));
  });

  it('serves a chapter with an ETag, answers 304 while unchanged, and a new ETag after a new version', async () => {
    const read = (etag?: string) =>
      app.request(`/api/chapters/${chapters[0]}`, {
        headers: { Authorization: `Bearer ${token}`, ...(etag ? { 'If-None-Match': etag } : {}) },
      });
    const first = await read();
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toContain('stale-while-revalidate');
    const etag = first.headers.get('etag')!;
    expect(await first.json()).toMatchObject({ version: 0, content: null });
    expect((await read(etag)).status).toBe(304);

    await submit(chapters[0]);
    await new JobRunner({ db: test_.db, generator: createOfflineGenerator({ delayMs: 0 }), log: silentLogger }).wake();
    const changed = await read(etag);
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(await changed.json()).toMatchObject({ version: 1 });
  });

  it('lets ops save and publish from the Routing page form, refusing bad fields inline', async () => {
    const ops = await app.staffSession('ops');
    const page = await app.request('/routing', { cookie: ops.cookie });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Serving now');
    expect(html).toContain('name="rules[0].match.path"');

    const form = new URLSearchParams({
      intent: 'save-publish',
      base: '0',
      comment: 'Canary to 12.5%',
      hybridEnabled: 'on',
      canaryPercent: '12.5',
      stickyKey: 'chapter',
      'rules[0].id': 'generate',
      'rules[0].match.path': '/api/content/generate-*',
      'rules[0].match.methods': 'POST',
      'rules[0].destination': 'cloud',
      'rules[0].priority': 'normal',
      'rules[0].timeoutMs': '300000',
      'rules[0].retry.maxRetries': '2',
      'rules[0].retry.backoff': 'exponential',
      'rules[0].retry.baseDelayMs': '1000',
      'rules[0].retry.maxDelayMs': '60000',
      'defaultRule.destination': 'edge',
      'defaultRule.priority': 'high',
      'defaultRule.timeoutMs': '10000',
      'defaultRule.retry.maxRetries': '1',
      'defaultRule.retry.backoff': 'none',
      'defaultRule.retry.baseDelayMs': '0',
      'defaultRule.retry.maxDelayMs': '0',
    });
    const bad = new URLSearchParams(form);
    bad.set('rules[0].timeoutMs', '5');
    const refused = await app.request('/routing', { method: 'POST', cookie: ops.cookie, body: bad });
    expect(refused.status).toBe(400);
    const refusedHtml = await refused.text();
    expect(refusedHtml, refusedHtml.slice(refusedHtml.indexOf('<main'), refusedHtml.indexOf('<main') + 800)).toContain(
      'must be at least 100 ms',
    );

    const saved = await app.request('/routing', { method: 'POST', cookie: ops.cookie, body: form });
    expect(saved.status).toBe(200);
    forgetActiveRoutingConfig(test_.db);
    expect(await activeRoutingConfig(app.runtime)).toMatchObject({
      version: 1,
      config: { canaryPercent: 12.5, rules: [{ id: 'generate' }] },
    });

    // A second op, still on the page as it was before v1, gets a 409 naming v1 and offering a re-apply.
    const admin = await app.staffSession('ops', 'second-op@example.com');
    const late = new URLSearchParams(form);
    late.set('stickyKey', 'course');
    late.set('comment', 'Sticky by course');
    const conflict = await app.request('/routing', { method: 'POST', cookie: admin.cookie, body: late });
    expect(conflict.status).toBe(409);
    const conflictHtml = await conflict.text();
    expect(conflictHtml).toContain('Saved meanwhile: your edit started from v0');
    expect(conflictHtml).toContain('Canary to 12.5%');
    expect(conflictHtml).toContain('stickyKey: chapter → course');
    expect(await test_.db.query('select version from public.control_config_versions')).toEqual([{ version: 1 }]);
    const reapply = new URLSearchParams({
      intent: 'reapply-publish',
      base: '1',
      comment: 'Sticky by course',
      mine: JSON.stringify([{ path: 'stickyKey', kind: 'changed', before: 'chapter', after: 'course' }]),
      apply: '0',
    });
    expect((await app.request('/routing', { method: 'POST', cookie: admin.cookie, body: reapply })).status).toBe(200);
    forgetActiveRoutingConfig(test_.db);
    expect(await activeRoutingConfig(app.runtime)).toMatchObject({
      version: 2,
      config: { canaryPercent: 12.5, stickyKey: 'course' },
    });
    reapply.delete('apply');
    const nothingTicked = await app.request('/routing', { method: 'POST', cookie: admin.cookie, body: reapply });
    expect(nothingTicked.status).toBe(400);
    expect(await nothingTicked.text()).toContain('Tick at least one change to re-apply');

    const cm = await app.staffSession('content_manager');
    expect((await app.request('/routing', { method: 'POST', cookie: cm.cookie, body: form })).status).toBe(403);
  });
});
