import { createApiToken } from '../../app/server/auth/api-tokens.server';
import { drainWithRuntime, installLocalResponseCache } from '../../app/server/cache-invalidation.server';
import { claimJobs, completeJob, submitJob } from '../../app/server/queue.server';
import { CACHE_STATUS_HEADER, createResponseCache, type ResponseCache } from '../../app/edge/response-cache';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { attemptUsage, newJob, seededChapterIds } from '../support/fixtures';
import { createTestApp, ORIGIN, type TestApp } from '../support/remix-app';

/**
 * A content manager reverts a chapter to an earlier version from the Chapter page: the old
 * content becomes current as a new version, audited, and the chapter's cache tags are queued and
 * sent, so GET /api/chapters/:id serves the reverted content.
 */
describe.each(databaseTargets())('chapter revert on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let cache: ResponseCache;
  let chapterId: string;
  let courseId: string;
  let readToken: string;
  let contentManager: { cookie: string; email: string };

  const generate = async (content: string) => {
    const { jobId } = await submitJob(test_.db, newJob(chapterId));
    const [claimed] = await claimJobs(test_.db, 'worker-1', 30);
    expect(claimed.id).toBe(jobId);
    await completeJob(test_.db, jobId, 'worker-1', { content, stopReason: 'end_turn', usage: attemptUsage });
    return jobId;
  };
  const revert = (version: number | string, cookie = contentManager.cookie) =>
    app.request(`/chapters/${chapterId}`, {
      method: 'POST',
      cookie,
      body: app.form({ intent: 'revert', version: String(version) }),
    });
  const viaCache = (pathname: string) => {
    const headers = { Authorization: `Bearer ${readToken}` };
    return cache.handle(new Request(`${ORIGIN}${pathname}`, { headers }), () => app.request(pathname, { headers }));
  };
  const current = async () =>
    (
      await test_.db.query<{ content: string; content_version: number }>(
        'select content, content_version from public.chapters where id = $1',
        [chapterId],
      )
    )[0];

  beforeAll(async () => {
    test_ = await target.create();
    [chapterId] = await seededChapterIds(test_.db);
    [{ course_id: courseId }] = await test_.db.query<{ course_id: string }>(
      'select course_id from public.chapters where id = $1',
      [chapterId],
    );
    app = await createTestApp(test_.db);
    cache = createResponseCache();
    installLocalResponseCache(cache);
    const admin = await app.staffSession('admin');
    const actor = { id: admin.id, email: admin.email, displayName: 'Admin', role: 'admin' as const };
    readToken = (await createApiToken(test_.db, actor, { name: 'reader', scopes: ['read'] })).token;
    contentManager = await app.staffSession('content_manager');
    await generate('# First take');
    await generate('# Second take');
  });
  afterAll(async () => {
    installLocalResponseCache(null);
    await test_.drop();
  });

  it('makes an earlier version current as a new version, audited, invalidated, and served by the API', async () => {
    const before = await viaCache(`/api/chapters/${chapterId}`);
    expect((await before.json()) as unknown).toMatchObject({ version: 2, content: '# Second take' });
    await test_.db.query('delete from public.cache_invalidations');

    const page = await app.request(`/chapters/${chapterId}`, { cookie: contentManager.cookie });
    const html = await page.text();
    expect(html).toContain('Revert to v1');
    expect(html).not.toContain('Revert to v2'); // the current one

    const reverted = await revert(1);
    expect(reverted.status).toBe(200);
    expect(await reverted.text()).toContain('Version 1 is current again, as version 3.');
    expect(await current()).toEqual({ content: '# First take', content_version: 3 });
    const [version3] = await test_.db.query<Record<string, unknown>>(
      'select job_id, reverted_from, created_by, model from public.chapter_versions where chapter_id = $1 and version = 3',
      [chapterId],
    );
    expect(version3).toEqual({
      job_id: null,
      reverted_from: 1,
      created_by: contentManager.email,
      model: 'claude-haiku-5-5',
    });
    const audit = await test_.db.query<{ actor: string; detail: unknown }>(
      `select actor, detail from public.audit_log where action = 'chapter.revert' and target_id = $1`,
      [chapterId],
    );
    expect(audit).toEqual([{ actor: contentManager.email, detail: { from: 1, version: 3 } }]);
    const invalidations = await test_.db.query<{ tags: string[] }>('select tags from public.cache_invalidations');
    expect(invalidations).toEqual([{ tags: [`chapter:${chapterId}`, `course:${courseId}`] }]);

    // Once the outbox is drained the cached copy is stale; the next read after revalidation is v1's content.
    await drainWithRuntime(app.runtime);
    const stale = await viaCache(`/api/chapters/${chapterId}`);
    expect(stale.headers.get(CACHE_STATUS_HEADER)).toBe('STALE');
    await cache.settled();
    const fresh = await viaCache(`/api/chapters/${chapterId}`);
    expect(fresh.headers.get(CACHE_STATUS_HEADER)).toBe('HIT');
    expect((await fresh.json()) as unknown).toMatchObject({ version: 3, content: '# First take' });
    // And straight from the app.
    const direct = await app.request(`/api/chapters/${chapterId}`, {
      headers: { Authorization: `Bearer ${readToken}` },
    });
    expect((await direct.json()) as unknown).toMatchObject({ version: 3, content: '# First take' });
  });

  it('lets the next generation follow the revert with the next version number', async () => {
    const jobId = await generate('# Third take');
    expect(await current()).toEqual({ content: '# Third take', content_version: 4 });
    // The Job page leads to the chapter's versions, where the revert is.
    const jobPage = await app.request(`/jobs/${jobId}`, { cookie: contentManager.cookie });
    expect(await jobPage.text()).toContain(`href="/chapters/${chapterId}"`);
    const versions = await test_.db.query<{ version: number }>(
      'select version from public.chapter_versions where chapter_id = $1 order by version',
      [chapterId],
    );
    expect(versions.map((row) => row.version)).toEqual([1, 2, 3, 4]);
  });

  it('refuses finance (403), the current version (409), a version that does not exist (422), and a bad form (400)', async () => {
    const finance = await app.staffSession('finance');
    expect((await revert(1, finance.cookie)).status).toBe(403);
    expect((await revert(4)).status).toBe(409);
    const missing = await revert(9);
    expect(missing.status).toBe(422);
    expect(await missing.text()).toContain('This chapter has no version 9; its current version is 4.');
    expect((await revert('one')).status).toBe(400);
    expect(await current()).toEqual({ content: '# Third take', content_version: 4 });
    const audits = await test_.db.query('select 1 from public.audit_log where action = $1', ['chapter.revert']);
    expect(audits).toHaveLength(1);
  });
});
