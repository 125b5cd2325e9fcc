import { createApiToken } from '../../app/server/auth/api-tokens.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

/**
 * The inputs issue 11 found answered with a 500, each now a 4xx that names the field and
 * writes nothing; and an Idempotency-Key reused with a different request (issue 10) refused.
 */
describe.each(databaseTargets())('the input rule on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let chapters: string[];
  let token: string;
  let cookie: string;

  beforeAll(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
    app = await createTestApp(test_.db);
    const admin = await app.staffSession('admin');
    cookie = admin.cookie;
    ({ token } = await createApiToken(
      test_.db,
      { id: admin.id, email: admin.email, displayName: 'a', role: 'admin' },
      { name: 'CMS', scopes: ['submit', 'read', 'cancel'] },
    ));
  });
  afterAll(() => test_.drop());

  /** Sends `body` as written: the JSON escapes \u0000 and \ud800 arrive as such. */
  const api = (path: string, body: string, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
      body,
    });

  const counts = async () => {
    const [row] = await test_.db.query<{ jobs: number; batches: number }>(
      'select (select count(*) from public.chapter_content_jobs) as jobs, (select count(*) from public.batches) as batches',
    );
    return row;
  };

  describe('the submit APIs', () => {
    it.each([
      [
        'a NUL in a batch name',
        '/api/content/batch-generate',
        'name',
        (ids: string[]) => `{"chapter_ids":${JSON.stringify(ids)},"name":"Week \\u0000 one"}`,
      ],
      [
        'a lone surrogate in a batch name',
        '/api/content/batch-generate',
        'name',
        (ids: string[]) => `{"chapter_ids":${JSON.stringify(ids)},"name":"\\ud800"}`,
      ],
      [
        'a NUL in a batch idempotency_key',
        '/api/content/batch-generate',
        'idempotency_key',
        (ids: string[]) => `{"chapter_ids":${JSON.stringify(ids)},"idempotency_key":"k\\u0000"}`,
      ],
      [
        'a NUL in a chapter idempotency_key',
        '/api/content/generate-chapter',
        'idempotency_key',
        (ids: string[]) => `{"chapter_id":"${ids[0]}","idempotency_key":"k\\u0000"}`,
      ],
      [
        'a lone low surrogate in a chapter id',
        '/api/content/generate-chapter',
        'chapter_id',
        () => `{"chapter_id":"\\udc00"}`,
      ],
      [
        'a NUL in an unknown field name',
        '/api/content/generate-chapter',
        'x\u0000',
        (ids: string[]) => `{"chapter_id":"${ids[0]}","x\\u0000":1}`,
      ],
      [
        'a NUL deep in a list',
        '/api/content/batch-generate',
        'chapter_ids[1]',
        (ids: string[]) => `{"chapter_ids":["${ids[0]}","\\u0000"]}`,
      ],
    ])('refuses %s with a 400 naming the field, writing nothing', async (_name, path, field, body) => {
      const before = await counts();
      const response = await api(path, body(chapters.slice(0, 2)));
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { code: string; fields: Record<string, string[]> } };
      expect(error.code).toBe('invalid_request');
      expect(error.fields[field]).toEqual(['must not contain NUL characters or unpaired UTF-16 surrogates']);
      expect(await counts()).toEqual(before);
    });

    it('refuses numbers that no column holds, naming the field', async () => {
      const response = await api(
        '/api/content/generate-chapter',
        JSON.stringify({ chapter_id: chapters[0], max_tokens: 99999999999 }),
      );
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { fields: Record<string, string[]> } };
      expect(error.fields.max_tokens).toBeDefined();
    });
  });

  describe('the Idempotency-Key', () => {
    it('replays the same request and refuses a different one with 422, for a chapter', async () => {
      const headers = { 'Idempotency-Key': 'cms-chapter-1' };
      const first = await api('/api/content/generate-chapter', JSON.stringify({ chapter_id: chapters[0] }), headers);
      expect(first.status).toBe(202);
      const { job_id } = (await first.json()) as { job_id: string };

      // The same request, defaults spelled out: still the same request.
      const again = await api(
        '/api/content/generate-chapter',
        JSON.stringify({ max_tokens: 4096, chapter_id: chapters[0] }),
        headers,
      );
      expect(again.status).toBe(202);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(((await again.json()) as { job_id: string }).job_id).toBe(job_id);

      const before = await counts();
      for (const different of [{ chapter_id: chapters[1] }, { chapter_id: chapters[0], max_tokens: 100 }]) {
        const reused = await api('/api/content/generate-chapter', JSON.stringify(different), headers);
        expect(reused.status).toBe(422);
        const { error } = (await reused.json()) as { error: { code: string; message: string } };
        expect(error.code).toBe('idempotency_key_reused');
        expect(error.message).toMatch(/first used with a different request/);
        expect(reused.headers.get('idempotent-replayed')).toBeNull();
      }
      expect(await counts()).toEqual(before);
    });

    it('replays the same request and refuses a different one with 422, for a batch', async () => {
      const batch = { chapter_ids: chapters.slice(0, 3), name: 'Week 1', idempotency_key: 'cms-batch-1' };
      const first = await api('/api/content/batch-generate', JSON.stringify(batch));
      expect(first.status).toBe(202);
      const { batch_id } = (await first.json()) as { batch_id: string };
      const again = await api('/api/content/batch-generate', JSON.stringify(batch));
      expect(again.status).toBe(202);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(((await again.json()) as { batch_id: string }).batch_id).toBe(batch_id);

      const before = await counts();
      for (const different of [
        { ...batch, chapter_ids: chapters.slice(0, 4) },
        { ...batch, name: 'Week 2' },
        { ...batch, priority: 'high' },
      ]) {
        const reused = await api('/api/content/batch-generate', JSON.stringify(different));
        expect(reused.status).toBe(422);
        expect(await reused.json()).toMatchObject({ error: { code: 'idempotency_key_reused' } });
      }
      expect(await counts()).toEqual(before);
    });

    it('refuses a reused key on the Queue page with a message on the form, writing nothing', async () => {
      const submit = (chapterId: string) =>
        app.request('/submit', {
          method: 'POST',
          cookie,
          body: app.form({ mode: 'single', chapter_id: chapterId, idempotency_key: 'page-key-1' }),
        });
      expect((await submit(chapters[0])).status).toBe(302);
      const before = await counts();
      const reused = await submit(chapters[1]);
      expect(reused.status).toBe(422);
      expect(await reused.text()).toContain('first used with a different request');
      expect(await counts()).toEqual(before);
    });
  });

  describe('the Jobs page', () => {
    it.each([
      ['version=99999999999', 'version'],
      ['version=1e3', 'version'],
      ['from=2026-13-45', 'from'],
      ['to=2026-02-30', 'to'],
      ['from=0000-01-01', 'from'],
      ['after=not-a-cursor', 'after'],
      ['after=2026-02-30T00:00:00.000Z%7C00000000-0000-4000-8000-000000000000', 'after'],
      ['after=2026-01-01T00:00:00.000Z%7Czzzzzzzz-0000-4000-8000-000000000000', 'after'],
      ['after=2026-01-01T00:00:00.000Z%7C00000000-0000-4000-8000-000000000000%7Cx', 'after'],
      ['q=%00', 'q'],
      ['model=a%00b', 'model'],
    ])('answers ?%s with a 400 page naming "%s"', async (search, field) => {
      const response = await app.request(`/jobs?${search}`, { cookie });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain(`&quot;${field}&quot;`);
    });

    it('still pages with a real cursor and filters by real dates', async () => {
      const cursor = encodeURIComponent(`${new Date().toISOString()}|00000000-0000-4000-8000-000000000000`);
      expect(
        (await app.request(`/jobs?after=${cursor}&from=2024-02-29&to=2026-12-31&version=3`, { cookie })).status,
      ).toBe(200);
    });
  });

  describe('other pages and forms', () => {
    it('treats an impossible date on Costs and Latency as no date (the last 30 days)', async () => {
      for (const path of [
        '/costs?from=2026-02-30&to=2026-13-45',
        '/latency?from=2026-02-30',
        '/costs/csv?chart=daily&to=2026-02-30',
      ])
        expect((await app.request(path, { cookie })).status, path).toBeLessThan(300);
    });

    it('returns to the overview, not a 500, after sign-in to a path no Location header can carry', async () => {
      const response = await app.request(`/sign-in?redirectTo=${encodeURIComponent('/jobs😀')}`, { cookie });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe('/');
    });

    it('answers a NUL in a query string or a form field with a 400 naming it', async () => {
      const page = await app.request('/costs?from=%00', { cookie });
      expect(page.status).toBe(400);
      expect(await page.text()).toContain('&quot;from&quot;');
      const form = await app.request('/admin/tokens', {
        method: 'POST',
        cookie,
        body: app.form({ name: 'CMS\u0000', scopes: 'read' }),
      });
      expect(form.status).toBe(400);
      expect(await form.text()).toContain('&quot;name&quot;');
    });

    it('answers a version no int4 holds on Routing with a 400, and a body that is not a form with a 400', async () => {
      const publish = await app.request('/routing', {
        method: 'POST',
        cookie,
        body: app.form({ intent: 'publish', version: '99999999999' }),
      });
      expect(publish.status).toBe(400);
      for (const intent of ['publish', 'revert']) {
        const missing = await app.request('/routing', {
          method: 'POST',
          cookie,
          body: app.form({ intent, version: '999' }),
        });
        expect(missing.status, intent).toBe(404);
        expect(await missing.text()).toContain('There is no version 999.');
      }
      const notAForm = await app.request('/routing', {
        method: 'POST',
        cookie,
        body: '{}',
        headers: { 'Content-Type': 'application/json' },
      });
      expect(notAForm.status).toBe(400);
    });
  });
});
