import { createApiToken } from '../../app/server/auth/api-tokens.server';
import { createAnthropicGenerator } from '../../app/server/generators/anthropic.server';
import { silentLogger } from '../../app/server/log.server';
import { JobRunner } from '../../worker/job-runner';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/anthropic-stand-in';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { jobRow, seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

describe.each(databaseTargets())('the generation pipeline on $name', (target) => {
  let anthropic: AnthropicStandIn;
  let test_: TestDatabase;
  let app: TestApp;
  let chapters: string[];
  let token: string;

  beforeAll(async () => {
    anthropic = await startAnthropicStandIn();
  });
  afterAll(() => anthropic.close());

  beforeEach(async () => {
    anthropic.reset();
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
    app = await createTestApp(test_.db);
    const admin = await app.staffSession('admin');
    ({ token } = await createApiToken(
      test_.db,
      { id: admin.id, email: admin.email, displayName: 'a', role: 'admin' },
      { name: 'CMS', scopes: ['submit', 'read', 'cancel'] },
    ));
  });
  afterEach(() => test_.drop());

  const api = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });

  const runner = (maxRetries = 0) =>
    new JobRunner({
      db: test_.db,
      generator: createAnthropicGenerator({ apiKey: 'sk-ant-test', baseURL: anthropic.url, maxRetries }),
      log: silentLogger,
      progressIntervalMs: 20,
    });

  const jobCount = async () =>
    (await test_.db.query<{ n: number }>('select count(*) as n from public.chapter_content_jobs'))[0].n;

  it('answers 202 at once, then a worker streams the chapter and records the exact usage and cost', async () => {
    const response = await api('/api/content/generate-chapter', {
      chapter_id: chapters[0],
      model: 'claude-sonnet-5-5',
      max_tokens: 2000,
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('x-route-destination')).toBe('cloud');
    expect(response.headers.get('x-route-rule')).toBe('generate');
    const body = (await response.json()) as { job_id: string; status: string; status_url: string };
    expect(body).toMatchObject({ status: 'pending', status_url: `/api/jobs/${body.job_id}` });
    expect(app.wakes.length).toBe(1);

    expect(await runner().wake()).toBe(1);
    const sent = anthropic.requests[0].body as {
      model: string;
      max_tokens: number;
      stream: boolean;
      system: { cache_control?: unknown; text: string }[];
      messages: { content: string }[];
    };
    expect(sent).toMatchObject({ model: 'claude-sonnet-5-5', max_tokens: 2000, stream: true });
    expect(sent.system[0].cache_control).toEqual({ type: 'ephemeral' });
    expect(sent.system[0].text).toContain('Audience:');
    expect(sent.messages[0].content).toContain('Write chapter');

    const status = (await (await api(body.status_url)).json()) as Record<string, any>;
    expect(status).toMatchObject({
      status: 'succeeded',
      generator: 'anthropic',
      stop_reason: 'end_turn',
      chapter_version: 1,
      route: { rule_id: 'generate', config_version: 0 },
      usage: {
        input_tokens: 1200,
        output_tokens: 321,
        cache_write_5m_tokens: 800,
        cache_write_1h_tokens: 200,
        cache_read_tokens: 3000,
      },
    });
    // Sonnet 5.5 on 2026-11-28: 1200×$2 + 321×$10 + 800×$2.50 + 200×$4 + 3000×$0.10 per million.
    expect(status.cost.micros).toMatchObject({ input: 2400, output: 3210, cache_write: 2000 + 800, cache_read: 300 });
    // Cloud Run time: busy seconds × (2 vCPU × $0.000024 + 4 GiB × $0.0000025).
    expect(Math.abs(status.cost.micros.cloud_run - (status.usage.busy_ms / 1000) * 58)).toBeLessThanOrEqual(1);
    expect(status.cost.micros.total).toBe(
      Object.entries(status.cost.micros as Record<string, number>)
        .filter(([k]) => k !== 'total')
        .reduce((sum, [, v]) => sum + v, 0),
    );
    for (const stamp of ['created_at', 'dispatched_at', 'started_at', 'first_token_at', 'finished_at'])
      expect(status.timestamps[stamp]).not.toBeNull();
    const [chapter] = await test_.db.query<{ content: string }>('select content from public.chapters where id = $1', [
      chapters[0],
    ]);
    expect(chapter.content).toBe('# A Chapter\n\nIt begins with a sentence, and then another.\n');
  });

  it('returns the same job for a retried request with the same Idempotency-Key', async () => {
    const first = await api(
      '/api/content/generate-chapter',
      { chapter_id: chapters[0] },
      { 'Idempotency-Key': 'cms-42' },
    );
    const again = await api(
      '/api/content/generate-chapter',
      { chapter_id: chapters[0] },
      { 'Idempotency-Key': 'cms-42' },
    );
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { job_id: string }).job_id).toBe(
      ((await first.json()) as { job_id: string }).job_id,
    );
    expect(await jobCount()).toBe(1);

    const batch = { chapter_ids: chapters.slice(0, 3), idempotency_key: 'batch-7' };
    const b1 = (await (await api('/api/content/batch-generate', batch)).json()) as {
      batch_id: string;
      job_ids: string[];
    };
    const b2 = (await (await api('/api/content/batch-generate', batch)).json()) as {
      batch_id: string;
      job_ids: string[];
      created: boolean;
    };
    expect(b2).toMatchObject({ batch_id: b1.batch_id, job_ids: b1.job_ids, created: false });
    expect(await jobCount()).toBe(4);
  });

  it('stops the upstream stream within 500 ms of a cancel and ends cancelled with the usage so far', async () => {
    anthropic.enqueue({ text: Array.from({ length: 60 }, (_, i) => `piece ${i} `), delayMs: 50, pingEvery: 5 });
    const { job_id } = (await (await api('/api/content/generate-chapter', { chapter_id: chapters[0] })).json()) as {
      job_id: string;
    };
    const worker = runner();
    await worker.start();
    await expect
      .poll(async () => (await jobRow(test_.db, job_id)).progress_output_tokens, { timeout: 5000 })
      .toBeGreaterThan(0);
    const cancelAt = Date.now();
    const cancel = await api(`/api/jobs/${job_id}/cancel`, {});
    expect(cancel.status).toBe(202);
    await expect.poll(() => anthropic.requests[0].clientClosedAt, { timeout: 2000 }).not.toBeNull();
    expect(anthropic.requests[0].clientClosedAt! - cancelAt).toBeLessThan(500);
    await expect.poll(async () => (await jobRow(test_.db, job_id)).status).toBe('cancelled');
    const job = await jobRow(test_.db, job_id);
    expect(job.input_tokens).toBe(1200);
    expect(job.output_tokens as number).toBeGreaterThan(0);
    expect(job.cost_input_micros).toBe(2400);
    await worker.stop();
  });

  it('rides out a 529 inside the SDK and succeeds', async () => {
    anthropic.enqueue({ status: 529 }, {});
    await api('/api/content/generate-chapter', { chapter_id: chapters[0] });
    await runner(2).wake();
    expect(anthropic.requests).toHaveLength(2);
    const [job] = await test_.db.query<{ status: string; attempts: number }>(
      'select status, attempts from public.chapter_content_jobs',
    );
    expect(job).toEqual({ status: 'succeeded', attempts: 1 });
  });

  it('retries a mid-stream error by the job’s policy, counting both attempts’ usage', async () => {
    anthropic.enqueue({ errorAfterPieces: 2 }, {});
    const { job_id } = (await (await api('/api/content/generate-chapter', { chapter_id: chapters[0] })).json()) as {
      job_id: string;
    };
    const worker = runner();
    await worker.wake();
    expect(await jobRow(test_.db, job_id)).toMatchObject({
      status: 'pending',
      error_code: 'overloaded_error',
      attempts: 1,
    });
    await test_.db.query('update public.chapter_content_jobs set run_after = now() where id = $1', [job_id]);
    await worker.wake();
    expect(await jobRow(test_.db, job_id)).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      error_code: null,
      input_tokens: 2400,
    });
  });

  it('fails for good with the reason once attempts are exhausted', async () => {
    anthropic.setDefault({ status: 529 });
    const { job_id } = (await (await api('/api/content/generate-chapter', { chapter_id: chapters[0] })).json()) as {
      job_id: string;
    };
    const worker = runner();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await test_.db.query('update public.chapter_content_jobs set run_after = now() where id = $1', [job_id]);
      await worker.wake();
    }
    const status = (await (await api(`/api/jobs/${job_id}`)).json()) as Record<string, any>;
    expect(status).toMatchObject({ status: 'failed', attempts: 3, max_attempts: 3 });
    expect(status.error).toEqual({ code: 'overloaded_error', message: 'Anthropic 529 overloaded_error: Overloaded' });
  });

  it('fails a 4xx request error at once with the provider’s message, and records a max_tokens stop', async () => {
    anthropic.enqueue({
      status: 400,
      errorType: 'invalid_request_error',
      errorMessage: 'max_tokens: 64000 > 32000, the maximum for this model',
    });
    const bad = (await (await api('/api/content/generate-chapter', { chapter_id: chapters[0] })).json()) as {
      job_id: string;
    };
    anthropic.enqueue({ stopReason: 'max_tokens' });
    const cut = (await (await api('/api/content/generate-chapter', { chapter_id: chapters[1] })).json()) as {
      job_id: string;
    };
    await runner().wake();
    expect(await jobRow(test_.db, bad.job_id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error_code: 'invalid_request_error',
      error_message: 'Anthropic 400 invalid_request_error: max_tokens: 64000 > 32000, the maximum for this model',
    });
    expect(await jobRow(test_.db, cut.job_id)).toMatchObject({ status: 'succeeded', stop_reason: 'max_tokens' });
  });

  it('writes a 100-chapter batch atomically and answers with every job id', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => chapters[i % chapters.length]);
    const duplicates = await api('/api/content/batch-generate', { chapter_ids: ids });
    expect(duplicates.status).toBe(400);
    expect(await duplicates.json()).toMatchObject({
      error: { fields: { chapter_ids: ['must not name a chapter twice'] } },
    });

    const more = Array.from(
      { length: 88 },
      (_, i) => `${(i + 1).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`,
    );
    await test_.db.query(
      `insert into public.chapters (id, course_id, position, title) select unnest($1::uuid[]), (select id from public.courses limit 1), generate_series(100, 187), 'Extra'`,
      [more],
    );
    const response = await api('/api/content/batch-generate', {
      chapter_ids: [...chapters, ...more],
      name: 'Everything',
    });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { batch_id: string; job_ids: string[] };
    expect(body.job_ids).toHaveLength(100);
    expect(await jobCount()).toBe(100);
    const batch = (await (await api(`/api/batches/${body.batch_id}`)).json()) as Record<string, any>;
    expect(batch).toMatchObject({ name: 'Everything', job_count: 100, jobs_by_status: { pending: 100 }, done: false });
  });

  it.each([
    ['malformed JSON', '/api/content/generate-chapter', '{"chapter_id": ', {}, 400, { code: 'invalid_json' }],
    ['a body that is not an object', '/api/content/generate-chapter', '[1,2]', {}, 400, { code: 'invalid_body' }],
    [
      'wrong types',
      '/api/content/generate-chapter',
      { chapter_id: 42, max_tokens: 'lots', temperature: 3, priority: 'urgent' },
      {},
      400,
      {
        fields: {
          chapter_id: ['must be a chapter id (a UUID)'],
          max_tokens: ['must be a whole number of tokens'],
          temperature: ['must be from 0 to 1'],
          priority: ['must be high, normal or low'],
        },
      },
    ],
    [
      'an unknown model',
      '/api/content/generate-chapter',
      { chapter_id: '00000000-0000-4000-8000-000000000001', model: 'gpt-9' },
      {},
      400,
      { fields: { model: [expect.stringContaining('must be one of')] } },
    ],
    [
      'an unknown field',
      '/api/content/generate-chapter',
      { chapter_id: '00000000-0000-4000-8000-000000000001', colour: 'red' },
      {},
      400,
      { fields: { body: ['unknown field(s): colour'] } },
    ],
    [
      'an unknown chapter',
      '/api/content/generate-chapter',
      { chapter_id: '00000000-0000-4000-8000-000000000001' },
      {},
      422,
      { code: 'unknown_chapter', fields: { chapter_id: ['no chapter has this id'] } },
    ],
    [
      'a batch over the limit',
      '/api/content/batch-generate',
      {
        chapter_ids: Array.from(
          { length: 1001 },
          (_, i) => `00000000-0000-4000-8000-${i.toString().padStart(12, '0')}`,
        ),
      },
      {},
      400,
      { fields: { chapter_ids: ['must name at most 1000 chapters'] } },
    ],
    [
      'an empty batch',
      '/api/content/batch-generate',
      { chapter_ids: [] },
      {},
      400,
      { fields: { chapter_ids: ['must name at least one chapter'] } },
    ],
    [
      'an oversized body',
      '/api/content/generate-chapter',
      JSON.stringify({ chapter_id: 'x', padding: 'x'.repeat(20_000) }),
      {},
      413,
      { code: 'body_too_large' },
    ],
    [
      'a body that is not JSON',
      '/api/content/generate-chapter',
      'chapter_id=1',
      { 'Content-Type': 'application/x-www-form-urlencoded' },
      415,
      { code: 'unsupported_media_type' },
    ],
  ])(
    'refuses %s with a 4xx that says what is wrong, and writes nothing',
    async (_name, path, body, headers, status, expected) => {
      const response = await api(path, body, headers);
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: unknown }).error).toMatchObject(expected);
      expect(await jobCount()).toBe(0);
    },
  );

  it('refuses a batch with one unknown chapter, naming it, and writes nothing', async () => {
    const response = await api('/api/content/batch-generate', {
      chapter_ids: [chapters[0], '00000000-0000-4000-8000-000000000009', chapters[1]],
    });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({
      error: { fields: { 'chapter_ids[1]': ['no chapter has this id'] } },
    });
    expect(await jobCount()).toBe(0);
  });

  it('cancels a pending job at once, refuses to cancel a finished one, and retries a failed one', async () => {
    const { job_id } = (await (await api('/api/content/generate-chapter', { chapter_id: chapters[0] })).json()) as {
      job_id: string;
    };
    const cancelled = await api(`/api/jobs/${job_id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({ status: 'cancelled' });
    expect((await api(`/api/jobs/${job_id}/cancel`, {})).status).toBe(200);
    const done = (await (await api('/api/content/generate-chapter', { chapter_id: chapters[1] })).json()) as {
      job_id: string;
    };
    expect(await runner().wake()).toBe(1);
    expect((await jobRow(test_.db, done.job_id)).status).toBe('succeeded');
    const tooLate = await api(`/api/jobs/${done.job_id}/cancel`, {});
    expect(tooLate.status).toBe(409);
    expect(await tooLate.json()).toMatchObject({
      error: { code: 'conflict', message: 'The job already succeeded; there is nothing to cancel.' },
    });
    const retried = await app.request(`/api/jobs/${job_id}/retry`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(retried.status).toBe(202);
    expect((await jobRow(test_.db, job_id)).status).toBe('pending');
    expect((await api('/api/jobs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
