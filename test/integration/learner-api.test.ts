import { randomUUID } from 'node:crypto';

import { SignJWT } from 'jose';

import { createApiToken } from '../../app/server/auth/api-tokens.server';
import type { Queryable } from '../../app/server/db/port.server';
import { issueLocalLearnerToken, learnerApiDeps } from '../../app/server/learner-api.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

/** The seed's edge routes for learners: profile and progress, their auth, input and RLS. */
describe.each(databaseTargets())('learner edge routes on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let chapterIds: string[];
  const alice = randomUUID();
  const bob = randomUUID();
  let aliceToken: string;
  let bobToken: string;

  beforeAll(async () => {
    test_ = await target.create();
    chapterIds = await seededChapterIds(test_.db);
    app = await createTestApp(test_.db);
    aliceToken = await issueLocalLearnerToken(app.env, alice);
    bobToken = await issueLocalLearnerToken(app.env, bob);
  });
  afterAll(async () => {
    await learnerApiDeps(app.runtime).samples.flush();
    await test_.drop();
  });

  const asLearner = (token: string, init: RequestInit = {}) => ({
    ...init,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...init.headers },
  });
  const patchProfile = (token: string, body: unknown) =>
    app.request('/api/user/profile', asLearner(token, { method: 'PATCH', body: JSON.stringify(body) }));
  const postProgress = (token: string, body: unknown) =>
    app.request('/api/progress/update', asLearner(token, { method: 'POST', body: JSON.stringify(body) }));
  const progressRow = async (learner: string, chapter: string) =>
    (
      await test_.db.query<{ percent: number; time_spent_seconds: number; completed_at: Date | null }>(
        'select percent, time_spent_seconds, completed_at from public.learner_progress where learner_id = $1 and chapter_id = $2',
        [learner, chapter],
      )
    )[0];

  describe('authentication', () => {
    it('answers 401 without a token, and 401 token_expired for an expired one', async () => {
      const none = await app.request('/api/user/profile');
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const expired = await issueLocalLearnerToken(app.env, alice, { expiresInSeconds: -60 });
      const response = await app.request('/api/user/profile', asLearner(expired));
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('token_expired');
    });

    it('refuses a token signed with another secret', async () => {
      const forged = await new SignJWT({ role: 'authenticated' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(alice)
        .setIssuer('http://127.0.0.1:54321/auth/v1')
        .setAudience('authenticated')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode('another-secret-that-is-long-enough-for-hs256'));
      const response = await app.request('/api/user/profile', asLearner(forged));
      expect(response.status).toBe(401);
    });

    it('refuses a staff API token on learner routes and a learner token on staff routes (403)', async () => {
      const admin = await app.staffSession('admin', 'admin-learners@example.com');
      const actor = { id: admin.id, email: admin.email, displayName: 'Admin', role: 'admin' as const };
      const staffToken = (await createApiToken(test_.db, actor, { name: 'reader', scopes: ['read'] })).token;
      const asStaff = await app.request('/api/user/profile', asLearner(staffToken));
      expect(asStaff.status).toBe(403);
      expect(((await asStaff.json()) as { error: { code: string } }).error.code).toBe('staff_token');
      const reverse = await app.request(`/api/chapters/${chapterIds[0]}`, asLearner(aliceToken));
      expect(reverse.status).toBe(403);
      expect(((await reverse.json()) as { error: { code: string } }).error.code).toBe('learner_token');
    });

    it('refuses the JWT of a staff account (a Supabase user with a staff row) as a learner', async () => {
      const staffUser = randomUUID();
      await test_.db.query(
        `insert into public.staff (email, display_name, role, auth_user_id) values ('staff-jwt@example.com', 'S', 'ops', $1)`,
        [staffUser],
      );
      const token = await issueLocalLearnerToken(app.env, staffUser);
      const profile = await app.request('/api/user/profile', asLearner(token));
      expect(profile.status).toBe(403);
      const progress = await postProgress(token, { client_event_id: 'e1', chapter_id: chapterIds[0], percent: 10 });
      expect(progress.status).toBe(403);
      expect(await progressRow(staffUser, chapterIds[0])).toBeUndefined();
    });
  });

  describe('profile', () => {
    it('shows defaults, then the changes, with cache headers, a cache tag and route headers', async () => {
      const first = await app.request('/api/user/profile', asLearner(aliceToken));
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({
        learner_id: alice,
        display_name: '',
        locale: 'en',
        preferences: {},
        updated_at: null,
      });
      expect(first.headers.get('cache-control')).toBe('s-maxage=60, stale-while-revalidate=300');
      expect(first.headers.get('vercel-cache-tag')).toBe(`profile:${alice}`);
      expect(first.headers.get('x-route-destination')).toBe('edge');
      expect(first.headers.get('x-route-rule')).toBe('default');

      const changed = await patchProfile(aliceToken, { display_name: ' Alice ', preferences: { theme: 'dark' } });
      expect(changed.status).toBe(200);
      await patchProfile(aliceToken, { locale: 'pt-BR', preferences: { reading_pace: 'fast' } });
      const after = await app.request('/api/user/profile', asLearner(aliceToken));
      const body = (await after.json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        display_name: 'Alice',
        locale: 'pt-BR',
        preferences: { theme: 'dark', reading_pace: 'fast' },
      });
      const etag = after.headers.get('etag')!;
      const again = await app.request(
        '/api/user/profile',
        asLearner(aliceToken, { headers: { 'If-None-Match': etag } }),
      );
      expect(again.status).toBe(304);
    });

    it('refuses bad fields by name and writes nothing', async () => {
      const response = await patchProfile(bobToken, {
        display_name: '',
        locale: 'english',
        preferences: { theme: 'neon', font_scale: 3, colour: 'red' },
        admin: true,
      });
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { fields: Record<string, string[]> } };
      expect(Object.keys(error.fields).sort()).toEqual(
        ['body', 'display_name', 'locale', 'preferences', 'preferences.font_scale', 'preferences.theme'].sort(),
      );
      expect(error.fields.body.join()).toMatch(/admin/);
      expect(error.fields.preferences.join()).toMatch(/colour/);
      const rows = await test_.db.query('select 1 from public.learner_profiles where learner_id = $1', [bob]);
      expect(rows).toHaveLength(0);
      expect((await patchProfile(bobToken, {})).status).toBe(400);
    });

    it('answers 405 naming the methods for other verbs', async () => {
      const response = await app.request('/api/user/profile', asLearner(aliceToken, { method: 'DELETE' }));
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, PATCH');
    });
  });

  describe('progress', () => {
    it('applies an update once: a replay changes nothing, and percent never goes backwards unless reset', async () => {
      const chapter = chapterIds[1];
      const first = await postProgress(aliceToken, {
        client_event_id: 'a-1',
        chapter_id: chapter,
        chapter_version: 0,
        percent: 40,
        time_spent_seconds: 120,
      });
      expect(first.status).toBe(200);
      expect(await first.json()).toMatchObject({ percent: 40, time_spent_seconds: 120, replayed: false });

      const replay = await postProgress(aliceToken, {
        client_event_id: 'a-1',
        chapter_id: chapter,
        chapter_version: 0,
        percent: 40,
        time_spent_seconds: 120,
      });
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await replay.json()).toMatchObject({ percent: 40, time_spent_seconds: 120, replayed: true });

      const backwards = await postProgress(aliceToken, {
        client_event_id: 'a-2',
        chapter_id: chapter,
        percent: 10,
        time_spent_seconds: 30,
      });
      expect(await backwards.json()).toMatchObject({ percent: 40, time_spent_seconds: 150 });

      const done = await postProgress(aliceToken, { client_event_id: 'a-3', chapter_id: chapter, percent: 100 });
      const doneBody = (await done.json()) as { completed_at: string };
      expect(doneBody.completed_at).not.toBeNull();
      const later = await postProgress(aliceToken, { client_event_id: 'a-4', chapter_id: chapter, percent: 100 });
      expect(((await later.json()) as { completed_at: string }).completed_at).toBe(doneBody.completed_at);

      const reset = await postProgress(aliceToken, {
        client_event_id: 'a-5',
        chapter_id: chapter,
        percent: 0,
        reset: true,
      });
      expect(await reset.json()).toMatchObject({ percent: 0, completed_at: null, time_spent_seconds: 150 });
      expect(await progressRow(alice, chapter)).toMatchObject({ percent: 0, time_spent_seconds: 150 });
    });

    it('refuses an event id reused for a different update (422) and changes nothing', async () => {
      const chapter = chapterIds[2];
      await postProgress(aliceToken, { client_event_id: 'b-1', chapter_id: chapter, percent: 20 });
      const reused = await postProgress(aliceToken, { client_event_id: 'b-1', chapter_id: chapter, percent: 90 });
      expect(reused.status).toBe(422);
      expect(await reused.json()).toMatchObject({ error: { code: 'client_event_id_reused' } });
      expect((await progressRow(alice, chapter)).percent).toBe(20);
    });

    it('keeps event ids per learner: the same id from two learners is two updates', async () => {
      const chapter = chapterIds[3];
      expect(
        (await postProgress(aliceToken, { client_event_id: 'same', chapter_id: chapter, percent: 30 })).status,
      ).toBe(200);
      const fromBob = await postProgress(bobToken, { client_event_id: 'same', chapter_id: chapter, percent: 30 });
      expect(await fromBob.json()).toMatchObject({ replayed: false });
    });

    it('answers concurrent updates (batched on the local database) each with its own outcome', async () => {
      // Learners of their own: the other tests count alice's and bob's rows.
      const [carol, dave] = [randomUUID(), randomUUID()];
      const [carolToken, daveToken] = await Promise.all([
        issueLocalLearnerToken(app.env, carol),
        issueLocalLearnerToken(app.env, dave),
      ]);
      const [chapter, other] = [chapterIds[5], chapterIds[6]];
      const responses = await Promise.all([
        postProgress(carolToken, { client_event_id: 'c-1', chapter_id: chapter, percent: 50 }),
        postProgress(daveToken, { client_event_id: 'c-1', chapter_id: chapter, percent: 70 }),
        postProgress(carolToken, { client_event_id: 'c-1', chapter_id: chapter, percent: 50 }),
        postProgress(carolToken, { client_event_id: 'c-2', chapter_id: randomUUID(), percent: 10 }),
        postProgress(daveToken, { client_event_id: 'c-2', chapter_id: other, percent: 20, chapter_version: 7 }),
        postProgress(daveToken, { client_event_id: 'c-1', chapter_id: chapter, percent: 80 }),
      ]);
      const bodies = (await Promise.all(responses.map((response) => response.json()))) as Record<string, unknown>[];
      // Two updates under one event id may be decided in either order: one applies, the other
      // is a replay (same figures) or refused (different figures).
      expect([bodies[0].replayed, bodies[2].replayed].sort()).toEqual([false, true]);
      expect(bodies[0]).toMatchObject({ chapter_id: chapter, percent: 50 });
      expect(responses.slice(3, 5).map((response) => response.status)).toEqual([422, 422]);
      expect(bodies[3]).toMatchObject({ error: { code: 'unknown_chapter' } });
      expect(bodies[4]).toMatchObject({ error: { code: 'unknown_chapter_version' } });
      const [daveApplied, daveRefused] = responses[1].status === 200 ? [1, 5] : [5, 1];
      expect(responses[daveApplied].status).toBe(200);
      expect(responses[daveRefused].status).toBe(422);
      expect(bodies[daveRefused]).toMatchObject({ error: { code: 'client_event_id_reused' } });
      expect(await progressRow(carol, chapter)).toMatchObject({ percent: 50 });
      expect(await progressRow(dave, chapter)).toMatchObject({ percent: bodies[daveApplied].percent });
      expect(await progressRow(dave, other)).toBeUndefined();
    });

    it('refuses bad input with a 4xx naming each field, and writes nothing', async () => {
      const bad = await postProgress(bobToken, {
        client_event_id: '',
        chapter_id: 'not-a-uuid',
        percent: 101,
        time_spent_seconds: -1,
        extra: 1,
      });
      expect(bad.status).toBe(400);
      const { error } = (await bad.json()) as { error: { fields: Record<string, string[]> } };
      expect(Object.keys(error.fields).sort()).toEqual(
        ['body', 'chapter_id', 'client_event_id', 'percent', 'time_spent_seconds'].sort(),
      );
      const unknown = await postProgress(bobToken, { client_event_id: 'u-1', chapter_id: randomUUID(), percent: 5 });
      expect(unknown.status).toBe(422);
      expect(await unknown.json()).toMatchObject({ error: { fields: { chapter_id: [expect.any(String)] } } });
      const future = await postProgress(bobToken, {
        client_event_id: 'v-1',
        chapter_id: chapterIds[0],
        chapter_version: 7,
        percent: 5,
      });
      expect(future.status).toBe(422);
      expect(await future.json()).toMatchObject({
        error: { code: 'unknown_chapter_version', fields: { chapter_version: [expect.stringMatching(/at most 0/)] } },
      });
      const oversized = await postProgress(bobToken, {
        client_event_id: 'x'.repeat(5000),
        chapter_id: chapterIds[0],
        percent: 5,
      });
      expect(oversized.status).toBe(413);
      const notJson = await app.request(
        '/api/progress/update',
        asLearner(bobToken, { method: 'POST', body: 'percent=5', headers: { 'Content-Type': 'text/plain' } }),
      );
      expect(notJson.status).toBe(415);
      const rows = await test_.db.query('select 1 from public.learner_progress_events where learner_id = $1', [bob]);
      expect(rows.length).toBe(1); // only the 'same' event above
    });
  });

  it('records every request with its routing decision and latency for the Latency page', async () => {
    await learnerApiDeps(app.runtime).samples.flush();
    const rows = await test_.db.query<{ route: string; destination: string; statuses: number[]; n: number }>(
      `select route, destination, array_agg(distinct status order by status) as statuses, count(*)::int as n
       from public.api_route_samples group by route, destination order by route`,
    );
    expect(rows.map((row) => [row.route, row.destination])).toEqual([
      ['/api/progress/update', 'edge'],
      ['/api/user/profile', 'edge'],
    ]);
    expect(rows[1].statuses).toEqual(expect.arrayContaining([200, 304, 400, 401, 403, 405]));
    const finance = await app.staffSession('finance', 'finance-learners@example.com');
    const page = await app.request('/latency', { cookie: finance.cookie });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Edge routes');
    expect(html).toMatch(/PATCH(<!-- -->)? (<!-- -->)?\/api\/user\/profile/);
  });

  it('limits the requests per learner (429 with Retry-After), each learner on its own', async () => {
    const limited = await createTestApp(test_.db, { LEARNER_RATE_LIMIT_PER_MINUTE: '3' });
    const token = await issueLocalLearnerToken(limited.env, randomUUID());
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await limited.request('/api/user/profile', asLearner(token))).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const last = await limited.request('/api/user/profile', asLearner(token));
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    const other = await issueLocalLearnerToken(limited.env, randomUUID());
    expect((await limited.request('/api/user/profile', asLearner(other))).status).toBe(200);
    await learnerApiDeps(limited.runtime).samples.flush();
    // The suite's own app is the runtime for the remaining tests; put it back.
    app = await createTestApp(test_.db);
  });

  describe('row-level security, from a learner role with JWT claims', () => {
    const asRole = <T>(learner: string, work: (tx: Queryable) => Promise<T>) =>
      test_.db.transaction(async (tx) => {
        await tx.query('set local role authenticated');
        await tx.query(`select set_config('request.jwt.claims', $1, true)`, [
          JSON.stringify({ sub: learner, role: 'authenticated' }),
        ]);
        return work(tx);
      });

    it("lets a learner read only their own profile and progress, not another's", async () => {
      const seen = await asRole(bob, async (tx) => ({
        profiles: await tx.query<{ learner_id: string }>('select learner_id from public.learner_profiles'),
        progress: await tx.query<{ learner_id: string }>('select distinct learner_id from public.learner_progress'),
        events: await tx.query<{ learner_id: string }>(
          'select distinct learner_id from public.learner_progress_events',
        ),
      }));
      expect(seen.profiles).toEqual([]);
      expect(seen.progress.map((row) => row.learner_id)).toEqual([bob]);
      expect(seen.events.map((row) => row.learner_id)).toEqual([bob]);
      const own = await asRole(alice, (tx) =>
        tx.query<{ display_name: string }>('select display_name from public.learner_profiles'),
      );
      expect(own).toEqual([{ display_name: 'Alice' }]);
    });

    it("refuses to write another learner's rows, directly or through the functions", async () => {
      await expect(
        asRole(bob, (tx) =>
          tx.query(`insert into public.learner_profiles (learner_id, display_name) values ($1, 'mallory')`, [alice]),
        ),
      ).rejects.toThrow(/row-level security/);
      await expect(
        asRole(bob, (tx) =>
          tx.query(`update public.learner_profiles set display_name = 'x' where learner_id = $1`, [alice]),
        ),
      ).resolves.toBeDefined();
      expect(
        (await test_.db.query('select display_name from public.learner_profiles where learner_id = $1', [alice]))[0],
      ).toEqual({
        display_name: 'Alice',
      });
      await expect(
        asRole(bob, (tx) =>
          tx.query(`select * from public.record_learner_progress($1, $2, 'evil', 0, 100, 0, false)`, [
            alice,
            chapterIds[0],
          ]),
        ),
      ).rejects.toThrow(/only their own progress/);
      await expect(
        asRole(bob, (tx) =>
          tx.query(`select * from public.update_learner_profile($1, 'mallory', null, null)`, [alice]),
        ),
      ).rejects.toThrow(/row-level security/);
      await expect(
        asRole(bob, (tx) =>
          tx.query(`insert into public.learner_progress (learner_id, chapter_id) values ($1, $2)`, [
            bob,
            chapterIds[0],
          ]),
        ),
      ).rejects.toThrow(/permission denied/);
    });

    it('lets a learner record their own progress through the function, as their Supabase client would', async () => {
      const [row] = await asRole(bob, (tx) =>
        tx.query<{ outcome: string; percent: number }>(
          `select outcome, percent from public.record_learner_progress($1, $2, 'own-1', 0, 55, 10, false)`,
          [bob, chapterIds[5]],
        ),
      );
      expect(row).toEqual({ outcome: 'applied', percent: 55 });
    });
  });
});
