import { randomUUID } from 'node:crypto';

import { createApiToken } from '../../app/server/auth/api-tokens.server';
import { drainWithRuntime, installLocalResponseCache } from '../../app/server/cache-invalidation.server';
import { issueLocalLearnerToken, learnerApiDeps } from '../../app/server/learner-api.server';
import { claimJobs, completeJob, completeJobs, submitJob } from '../../app/server/queue.server';
import { CACHE_STATUS_HEADER, createResponseCache, type ResponseCache } from '../../app/edge/response-cache';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { attemptUsage, newJob, seededChapterIds } from '../support/fixtures';
import { createTestApp, ORIGIN, type TestApp } from '../support/remix-app';
import { startVercelStandIn, type VercelStandIn } from '../support/vercel-stand-in';

/**
 * Chapter and profile answers are cached by a shared cache under tags; a new chapter version
 * or a profile change queues the tags in `cache_invalidations` in the same transaction, and the
 * drain sends them to Vercel's invalidate-by-tags (retried, audited) and to the local cache.
 */
describe.each(databaseTargets())('response cache and tag invalidation on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let vercel: VercelStandIn;
  let cache: ResponseCache;
  let chapterIds: string[];
  let readToken: string;

  beforeAll(async () => {
    test_ = await target.create();
    chapterIds = await seededChapterIds(test_.db);
    vercel = await startVercelStandIn();
    app = await createTestApp(test_.db, {
      EDGE_CONFIG: vercel.connectionString,
      VERCEL_API_TOKEN: vercel.apiToken,
      VERCEL_API_URL: vercel.apiUrl,
      VERCEL_PROJECT_ID: 'prj_switchyard',
    });
    cache = createResponseCache();
    installLocalResponseCache(cache);
    const admin = await app.staffSession('admin');
    const actor = { id: admin.id, email: admin.email, displayName: 'Admin', role: 'admin' as const };
    readToken = (await createApiToken(test_.db, actor, { name: 'reader', scopes: ['read'] })).token;
  });
  afterAll(async () => {
    installLocalResponseCache(null);
    await learnerApiDeps(app.runtime).samples.flush();
    await vercel.close();
    await test_.drop();
  });

  /** A GET through the shared cache, as a CDN in front of the app would serve it. */
  const viaCache = (pathname: string, token: string) => {
    const headers = { Authorization: `Bearer ${token}` };
    return cache.handle(new Request(`${ORIGIN}${pathname}`, { headers }), () => app.request(pathname, { headers }));
  };
  const read = async (response: Response) => ({
    status: response.headers.get(CACHE_STATUS_HEADER),
    body: (await response.json()) as Record<string, unknown>,
  });
  const pending = () =>
    test_.db.query<{ tags: string[]; attempts: number; last_error: string | null; sent_at: Date | null }>(
      'select tags, attempts, last_error, sent_at from public.cache_invalidations order by id',
    );

  it('shows a chapter stale until its new version is invalidated, then fresh; a failed call is retried and audited', async () => {
    const chapterId = chapterIds[0];
    const [{ course_id: courseId }] = await test_.db.query<{ course_id: string }>(
      'select course_id from public.chapters where id = $1',
      [chapterId],
    );
    const first = await viaCache(`/api/chapters/${chapterId}`, readToken);
    expect(first.headers.get('cache-control')).toBe('s-maxage=60, stale-while-revalidate=300');
    expect(first.headers.get('vercel-cache-tag')).toBeNull(); // read by the cache, not sent on
    expect(first.headers.get('x-route-destination')).toBe('edge');
    expect(await read(first)).toMatchObject({ status: 'MISS', body: { version: 0 } });
    expect(await read(await viaCache(`/api/chapters/${chapterId}`, readToken))).toMatchObject({
      status: 'HIT',
      body: { version: 0 },
    });

    // A generation finishes: the new version is written with the job, and its tags queued.
    const { jobId } = await submitJob(test_.db, newJob(chapterId));
    const [claimed] = await claimJobs(test_.db, 'worker-1', 30);
    expect(claimed.id).toBe(jobId);
    await completeJob(test_.db, jobId, 'worker-1', {
      content: '# Version one',
      stopReason: 'end_turn',
      usage: attemptUsage,
    });
    expect(await pending()).toMatchObject([
      { tags: [`chapter:${chapterId}`, `course:${courseId}`], attempts: 0, sent_at: null },
    ]);
    // Stale: the cache still answers the old version.
    expect(await read(await viaCache(`/api/chapters/${chapterId}`, readToken))).toMatchObject({
      status: 'HIT',
      body: { version: 0 },
    });

    // Vercel fails once: the local cache is invalidated, the row waits for a retry.
    vercel.failInvalidations(1);
    expect(await drainWithRuntime(app.runtime)).toMatchObject({ sent: 0, failed: 1 });
    expect(await pending()).toMatchObject([{ attempts: 1, last_error: expect.stringMatching(/500/), sent_at: null }]);
    // Invalidated: served stale once while it revalidates, then fresh.
    expect(await read(await viaCache(`/api/chapters/${chapterId}`, readToken))).toMatchObject({
      status: 'STALE',
      body: { version: 0 },
    });
    await cache.settled();
    expect(await read(await viaCache(`/api/chapters/${chapterId}`, readToken))).toMatchObject({
      status: 'HIT',
      body: { version: 1, content: '# Version one' },
    });

    // The retry waits for its backoff; once due it is sent and marked.
    expect(await drainWithRuntime(app.runtime)).toMatchObject({ sent: 0, failed: 0 });
    await test_.db.query('update public.cache_invalidations set next_attempt_at = now() where sent_at is null');
    expect(await drainWithRuntime(app.runtime)).toMatchObject({ sent: 1 });
    expect(await pending()).toMatchObject([{ attempts: 2, last_error: null, sent_at: expect.any(Date) }]);
    expect(vercel.invalidations).toEqual([
      {
        tags: [`chapter:${chapterId}`, `course:${courseId}`],
        target: 'production',
        projectIdOrName: 'prj_switchyard',
        teamId: null,
      },
      {
        tags: [`chapter:${chapterId}`, `course:${courseId}`],
        target: 'production',
        projectIdOrName: 'prj_switchyard',
        teamId: null,
      },
    ]);
    // Every answer from the app (not the cached ones) was routed and timed for the Latency page.
    await learnerApiDeps(app.runtime).samples.flush();
    const [samples] = await test_.db.query<{ n: number }>(
      `select count(*)::int as n from public.api_route_samples where route = '/api/chapters/:id' and status = 200`,
    );
    expect(samples.n).toBe(2); // the first read and the revalidation
    const audit = await test_.db.query<{ action: string; detail: { attempt: number; target: string } }>(
      `select action, detail from public.audit_log where actor = 'system:cache' order by id`,
    );
    expect(audit.map((row) => [row.action, row.detail.attempt, row.detail.target])).toEqual([
      ['cache.invalidation_failed', 1, 'vercel'],
      ['cache.invalidated', 2, 'vercel'],
    ]);
  });

  it('queues the same tags when a chapter gets an earlier content back (a revert)', async () => {
    const chapterId = chapterIds[1];
    await test_.db.query(`update public.chapters set content = 'put back', content_version = 0 where id = $1`, [
      chapterId,
    ]);
    const rows = await test_.db.query<{ tags: string[] }>(
      'select tags from public.cache_invalidations where sent_at is null order by id',
    );
    expect(rows.map((row) => row.tags[0])).toEqual([`chapter:${chapterId}`]);
    await drainWithRuntime(app.runtime);
  });

  it('queues one row with every tag when one statement completes several chapters, each course once', async () => {
    const { db } = test_;
    const chosen = chapterIds.slice(2, 5);
    for (const id of chosen) await submitJob(db, newJob(id));
    const claimed = await claimJobs(db, 'w', 30, chosen.length);
    expect(claimed).toHaveLength(chosen.length);
    const [{ last }] = await db.query<{ last: number }>(
      'select coalesce(max(id), 0)::int as last from public.cache_invalidations',
    );
    const done = await completeJobs(
      db,
      claimed.map((job) => ({
        jobId: job.id,
        workerId: 'w',
        content: `# ${job.id}`,
        stopReason: 'end_turn',
        usage: attemptUsage,
      })),
    );
    expect([...done.values()]).toEqual(chosen.map(() => true));
    const courses = await db.query<{ course_id: string }>(
      'select distinct course_id::text from public.chapters where id = any($1::uuid[]) order by 1',
      [chosen],
    );
    const rows = await db.query<{ tags: string[]; reason: string }>(
      'select tags, reason from public.cache_invalidations where id > $1 order by id',
      [last],
    );
    expect(rows).toHaveLength(1);
    expect([...rows[0].tags].sort()).toEqual(
      [...chosen.map((id) => `chapter:${id}`), ...courses.map((c) => `course:${c.course_id}`)].sort(),
    );
    expect(rows[0].reason).toBe(`${chosen.length} chapters' content changed`);
    await drainWithRuntime(app.runtime);
  });

  it('invalidates profile:<learner> as soon as the learner changes their profile', async () => {
    const learner = randomUUID();
    const token = await issueLocalLearnerToken(app.env, learner);
    expect(await read(await viaCache('/api/user/profile', token))).toMatchObject({
      status: 'MISS',
      body: { display_name: '' },
    });
    expect((await read(await viaCache('/api/user/profile', token))).status).toBe('HIT');
    const patched = await app.request('/api/user/profile', {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ display_name: 'Cached Carol' }),
    });
    expect(patched.status).toBe(200);
    await vi.waitFor(() =>
      expect(vercel.invalidations.some((call) => call.tags.includes(`profile:${learner}`))).toBe(true),
    );
    expect((await read(await viaCache('/api/user/profile', token))).status).toBe('STALE');
    await cache.settled();
    expect(await read(await viaCache('/api/user/profile', token))).toMatchObject({
      status: 'HIT',
      body: { display_name: 'Cached Carol' },
    });
    // Another learner's cached profile is a different entry (Vary: Authorization).
    const other = await issueLocalLearnerToken(app.env, randomUUID());
    expect((await read(await viaCache('/api/user/profile', other))).status).toBe('MISS');
  });
});
