import path from 'node:path';
import { randomUUID } from 'node:crypto';

import { build } from 'esbuild';
import { EdgeRuntime } from 'edge-runtime';

import { issueLocalLearnerToken, LOCAL_LEARNER_ISSUER_URL } from '../server/learner-api.server';
import { parseEnv } from '../server/env.server';
import { databaseTargets, type TestDatabase } from '../../test/support/databases';
import { seededChapterIds } from '../../test/support/fixtures';
import { startPostgrestStandIn } from '../../test/support/postgrest-stand-in';

const JWT_SECRET = 'edge-sandbox-learner-secret-of-32-chars+';
const ANON_KEY = 'anon-key-for-the-edge-sandbox';

/**
 * Bundles the learner handlers for the browser/edge platform (a Node built-in anywhere in
 * their import graph fails the bundle) and runs them in `edge-runtime`, Vercel's own emulator of
 * the edge sandbox: only Web APIs exist there. Data goes over HTTP through supabase-js to a
 * PostgREST stand-in on the test database, as it would reach Supabase in production.
 */
async function bundleEdgeEntry(): Promise<string> {
  const result = await build({
    entryPoints: [path.resolve('test/support/edge-learner-entry.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    conditions: ['edge-light', 'worker', 'browser'],
    alias: { '~': path.resolve('app') },
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

describe.each(databaseTargets())('learner handlers in the edge-runtime sandbox on $name', (target) => {
  let test_: TestDatabase;
  let chapterIds: string[];
  let postgrest: Awaited<ReturnType<typeof startPostgrestStandIn>>;
  let runtime: EdgeRuntime;
  const env = parseEnv({ NODE_ENV: 'test', LEARNER_JWT_SECRET: JWT_SECRET });
  const learner = randomUUID();
  let token: string;

  beforeAll(async () => {
    test_ = await target.create();
    chapterIds = await seededChapterIds(test_.db);
    postgrest = await startPostgrestStandIn(test_.db, { jwtSecret: JWT_SECRET, anonKey: ANON_KEY });
    const settings = {
      supabaseUrl: postgrest.url,
      anonKey: ANON_KEY,
      issuerUrl: LOCAL_LEARNER_ISSUER_URL,
      jwtSecret: JWT_SECRET,
    };
    runtime = new EdgeRuntime({
      initialCode: `self.EDGE_TEST_SETTINGS = ${JSON.stringify(settings)};\n${await bundleEdgeEntry()}`,
    });
    token = await issueLocalLearnerToken(env, learner);
  });
  afterAll(async () => {
    await postgrest?.close();
    await test_?.drop();
  });

  const call = (pathname: string, init: RequestInit = {}) =>
    runtime.dispatchFetch(`http://edge.test${pathname}`, {
      ...init,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...init.headers },
    });

  it('has no Node built-ins: the sandbox has no process, require or Buffer', () => {
    expect(runtime.evaluate('[typeof process, typeof require, typeof Buffer].join()')).toBe(
      'undefined,undefined,undefined',
    );
  });

  it('serves and changes the profile through supabase-js, as the learner (RLS applies)', async () => {
    const patched = await call('/api/user/profile', {
      method: 'PATCH',
      body: JSON.stringify({ display_name: 'Edge Learner', preferences: { theme: 'light' } }),
    });
    expect(patched.status).toBe(200);
    const response = await call('/api/user/profile');
    expect(response.status).toBe(200);
    expect(response.headers.get('vercel-cache-tag')).toBe(`profile:${learner}`);
    expect(response.headers.get('x-route-destination')).toBe('edge');
    expect(await response.json()).toMatchObject({ display_name: 'Edge Learner', preferences: { theme: 'light' } });
    const [row] = await test_.db.query('select display_name from public.learner_profiles where learner_id = $1', [
      learner,
    ]);
    expect(row).toEqual({ display_name: 'Edge Learner' });
    expect(postgrest.calls.map((c) => c.fn)).toEqual(['update_learner_profile', 'learner_profile']);
  });

  it('records progress idempotently and refuses bad input with the same 4xx as on Node', async () => {
    const update = { client_event_id: 'edge-1', chapter_id: chapterIds[0], percent: 35, time_spent_seconds: 60 };
    const first = await call('/api/progress/update', { method: 'POST', body: JSON.stringify(update) });
    expect(first.status).toBe(200);
    const replay = await call('/api/progress/update', { method: 'POST', body: JSON.stringify(update) });
    expect(await replay.json()).toMatchObject({ percent: 35, time_spent_seconds: 60, replayed: true });
    const bad = await call('/api/progress/update', {
      method: 'POST',
      body: JSON.stringify({ ...update, client_event_id: 'edge-2', percent: 150 }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { fields: { percent: [expect.any(String)] } } });
    const unknown = await call('/api/progress/update', {
      method: 'POST',
      body: JSON.stringify({ ...update, client_event_id: 'edge-3', chapter_id: randomUUID() }),
    });
    expect(unknown.status).toBe(422);
    const anonymous = await runtime.dispatchFetch('http://edge.test/api/user/profile');
    expect(anonymous.status).toBe(401);
    const samples = runtime.evaluate('self.routeSamples.map((s) => s.status).join()');
    expect(samples).toBe('200,200,200,200,400,422,401');
  });
});
