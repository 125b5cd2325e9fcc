import { createApiToken } from '../../app/server/auth/api-tokens.server';
import { createOfflineGenerator } from '../../app/server/generators/offline.server';
import { silentLogger } from '../../app/server/log.server';
import { JobRunner } from '../../worker/job-runner';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { seededChapterIds } from '../support/fixtures';
import { insertLearningFixture } from '../support/learning-fixture';
import { createTestApp, type TestApp } from '../support/remix-app';

/** POST /api/analytics/compute through HTTP: who may, what it answers, and the job it queues. */
describe.each(databaseTargets())('POST /api/analytics/compute on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let finance: string;

  beforeAll(async () => {
    test_ = await target.create();
    await seededChapterIds(test_.db);
    await insertLearningFixture(test_.db);
    app = await createTestApp(test_.db);
    finance = (await app.staffSession('finance')).cookie;
  });
  afterAll(() => test_.drop());

  const post = (body: unknown, init: { cookie?: string; headers?: Record<string, string> } = {}) =>
    app.request('/api/analytics/compute', {
      method: 'POST',
      cookie: init.cookie ?? finance,
      headers: { 'Content-Type': 'application/json', ...init.headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('queues an analytics job for finance (202), wakes the worker, and the job follows like a generation', async () => {
    const wakesBefore = app.wakes.length;
    const response = await post({ from: '2026-11-01', to: '2026-11-02' });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { job_id: string; status_url: string; created: boolean };
    expect(body).toMatchObject({ kind: 'analytics', created: true, status_url: `/api/jobs/${body.job_id}` });
    expect(app.wakes.length).toBe(wakesBefore + 1);

    const pending = await app.request(body.status_url, { cookie: finance });
    expect(pending.status).toBe(200);
    expect(await pending.json()).toMatchObject({
      kind: 'analytics',
      status: 'pending',
      chapter_id: null,
      range: { from: '2026-11-01', to: '2026-11-02' },
    });

    const runner = new JobRunner({
      db: test_.db,
      generator: createOfflineGenerator({ delayMs: 0 }),
      log: silentLogger,
    });
    expect(await runner.wake()).toBe(1);
    const done = (await (await app.request(body.status_url, { cookie: finance })).json()) as Record<string, unknown>;
    expect(done).toMatchObject({ status: 'succeeded', model: 'analytics', error: null });
    const page = await app.request(`/jobs/${body.job_id}`, { cookie: finance });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Learning analytics, 2026-11-01 to 2026-11-02');
    expect(html).toContain('succeeded');
    // The cost pages keep working with an attempt of the model 'analytics' in the ledger.
    expect((await app.request('/costs?from=2026-11-01&to=2026-11-29', { cookie: finance })).status).toBe(200);
    expect(
      (await app.request('/costs/csv?chart=daily&from=2026-11-01&to=2026-11-29', { cookie: finance })).status,
    ).toBe(200);
    // The Jobs list shows it among the generations, and alone under its kind.
    for (const list of ['/jobs', '/jobs?kind=analytics']) {
      const jobs = await app.request(list, { cookie: finance });
      expect(jobs.status).toBe(200);
      const listed = await jobs.text();
      expect(listed).toContain(`href="/jobs/${body.job_id}"`);
      expect(listed).toContain('Learning analytics, 2026-11-01 to 2026-11-02');
    }
    expect(await (await app.request('/jobs?kind=generation', { cookie: finance })).text()).not.toContain(
      `href="/jobs/${body.job_id}"`,
    );
    const [audit] = await test_.db.query<{ actor: string }>(
      `select actor from public.audit_log where action = 'analytics.compute' and target_id = $1`,
      [body.job_id],
    );
    expect(audit.actor).toContain('finance@example.com');
  });

  it('answers a replayed Idempotency-Key with the first job, and refuses the key for another range', async () => {
    const first = await post({ from: '2026-11-01', to: '2026-11-03' }, { headers: { 'Idempotency-Key': 'fin-1' } });
    const again = await post({ from: '2026-11-01', to: '2026-11-03' }, { headers: { 'Idempotency-Key': 'fin-1' } });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { job_id: string }).job_id).toBe(
      ((await first.json()) as { job_id: string }).job_id,
    );
    const other = await post({ from: '2026-11-01', to: '2026-11-04' }, { headers: { 'Idempotency-Key': 'fin-1' } });
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ error: { code: 'idempotency_key_reused' } });
  });

  it.each([
    [{ from: '2026-11-05', to: '2026-11-01' }, 'from'],
    [{ from: '2026-11-01', to: '2027-12-01' }, 'to'],
    [{ from: '2026-13-01', to: '2026-11-01' }, 'from'],
    [{ from: '2026-11-01' }, 'to'],
    [{ from: '2026-11-01', to: '2026-11-02', chapter_id: 'x' }, ''],
  ])('refuses %j with a 400 naming the field, writing nothing', async (body, field) => {
    const [{ n: before }] = await test_.db.query<{ n: number }>(
      'select count(*)::int as n from public.chapter_content_jobs where kind = $1',
      ['analytics'],
    );
    const response = await post(body);
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { error: { code: string; fields?: Record<string, string[]> } };
    expect(answer.error.code).toBe('invalid_request');
    if (field) expect(Object.keys(answer.error.fields ?? {})).toContain(field);
    const [{ n: after }] = await test_.db.query<{ n: number }>(
      'select count(*)::int as n from public.chapter_content_jobs where kind = $1',
      ['analytics'],
    );
    expect(after).toBe(before);
  });

  it('refuses content managers and ops (403), a caller without a session (401), and API tokens without the analytics scope (403)', async () => {
    for (const role of ['content_manager', 'ops'] as const) {
      const { cookie } = await app.staffSession(role);
      const response = await post({ from: '2026-11-01', to: '2026-11-02' }, { cookie });
      expect(response.status).toBe(403);
    }
    const anonymous = await app.request('/api/analytics/compute', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: '2026-11-01', to: '2026-11-02' }),
    });
    expect(anonymous.status).toBe(401);
    const admin = await app.staffSession('admin', 'admin-token@example.com');
    const { token } = await createApiToken(
      test_.db,
      { id: admin.id, email: admin.email, displayName: 'a', role: 'admin' },
      { name: 'generation scopes', scopes: ['submit', 'read', 'cancel'] },
    );
    const byToken = await app.request('/api/analytics/compute', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: '2026-11-01', to: '2026-11-02' }),
    });
    expect(byToken.status).toBe(403);
    expect(((await byToken.json()) as { error: { message: string } }).error.message).toContain('"analytics" scope');
    expect((await app.request('/api/analytics/compute', { cookie: finance })).status).toBe(405);
  });

  it('queues analytics for an API token with the analytics scope, audited under the token, and nothing more', async () => {
    const admin = await app.staffSession('admin', 'admin-analytics-token@example.com');
    const { token } = await createApiToken(
      test_.db,
      { id: admin.id, email: admin.email, displayName: 'a', role: 'admin' },
      { name: 'nightly report', scopes: ['analytics'] },
    );
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const queued = await app.request('/api/analytics/compute', {
      method: 'POST',
      headers,
      body: JSON.stringify({ from: '2026-10-01', to: '2026-10-31' }),
    });
    expect(queued.status).toBe(202);
    const body = (await queued.json()) as { job_id: string; kind: string };
    expect(body.kind).toBe('analytics');
    const [audit] = await test_.db.query<{ actor: string }>(
      `select actor from public.audit_log where action = 'analytics.compute' and target_id = $1`,
      [body.job_id],
    );
    expect(audit.actor).toBe('token:nightly report');
    // The scope is only analytics: it cannot queue a generation nor read jobs.
    const chapter = (await test_.db.query<{ id: string }>('select id from public.chapters limit 1'))[0].id;
    const generation = await app.request('/api/content/generate-chapter', {
      method: 'POST',
      headers,
      body: JSON.stringify({ chapter_id: chapter }),
    });
    expect(generation.status).toBe(403);
    expect((await app.request(`/api/jobs/${body.job_id}`, { headers })).status).toBe(403);
  });

  it('is refused by the database for a scope it does not know', async () => {
    await expect(
      test_.db.query(
        `insert into public.api_tokens (name, token_hash, token_prefix, scopes, created_by)
         select 'bad', 'hash-of-bad', 'sy_bad', array['everything'], id from public.staff limit 1`,
      ),
    ).rejects.toThrow(/api_tokens_scopes_check/);
  });
});
