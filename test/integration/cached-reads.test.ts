import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import type { ServerBuild } from '@remix-run/node';
import express from 'express';

import { drainWithRuntime, installLocalResponseCache } from '../../app/server/cache-invalidation.server';
import { cachedReadsListener, cachedReadsMiddleware } from '../../app/server/cached-reads.server';
import { remixRequestHandler } from '../../app/server/remix-handler.server';
import { issueLocalLearnerToken, learnerApiDeps } from '../../app/server/learner-api.server';
import { securityHeaders } from '../../app/server/security-headers.server';
import { CACHE_STATUS_HEADER, createResponseCache, type ResponseCache } from '../../app/edge/response-cache';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { createTestApp, type TestApp } from '../support/remix-app';

/**
 * `npm start`'s stand-in for the CDN over real HTTP, assembled as server.ts assembles it: the
 * `node:http` listener answers a fresh hit before Express; Express's middleware fills the cache
 * (a miss, a stale entry) through Remix. What a learner relies on: their own profile and never
 * another's, the security headers on every answer, HEAD like GET, a change seen after the
 * invalidation outbox drains, and no cached answer once their token has expired.
 */
describe.each(databaseTargets())('the cached-reads stand-in for the CDN on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let cache: ResponseCache;
  let server: Server;
  let base: string;
  /** How many requests reached Express (the rest were answered by the listener). */
  let throughExpress = 0;

  beforeAll(async () => {
    test_ = await target.create();
    app = await createTestApp(test_.db);
    const build = (await import(pathToFileURL(path.resolve('build/index.js')).href)) as ServerBuild;
    cache = createResponseCache();
    installLocalResponseCache(cache);
    const express_ = express();
    express_.use((_req, _res, next) => {
      throughExpress += 1;
      next();
    });
    express_.use(cachedReadsMiddleware(build, cache));
    express_.all('*', remixRequestHandler(build));
    server = createServer(cachedReadsListener({ cache, baseHeaders: securityHeaders(null), next: express_ }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    installLocalResponseCache(null);
    await new Promise((resolve) => server.close(resolve));
    await learnerApiDeps(app.runtime).samples.flush();
    await test_.drop();
  });

  const profile = async (token: string, method = 'GET') => {
    const before = throughExpress;
    const response = await fetch(`${base}/api/user/profile`, { method, headers: { Authorization: `Bearer ${token}` } });
    const text = await response.text();
    return {
      status: response.status,
      cache: response.headers.get(CACHE_STATUS_HEADER),
      headers: response.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
      length: text.length,
      viaExpress: throughExpress > before,
    };
  };

  it("answers a learner's fresh hit before Express, with the security headers, and HEAD like GET", async () => {
    const learner = randomUUID();
    const token = await issueLocalLearnerToken(app.env, learner);
    const miss = await profile(token);
    expect(miss).toMatchObject({ status: 200, cache: 'MISS', viaExpress: true, body: { learner_id: learner } });
    const hit = await profile(token);
    expect(hit).toMatchObject({ status: 200, cache: 'HIT', viaExpress: false, body: miss.body });
    for (const [name, value] of Object.entries(securityHeaders(null))) expect(hit.headers.get(name)).toBe(value);
    expect(hit.headers.get('cache-control')).toBe(miss.headers.get('cache-control'));
    expect(hit.headers.get('vary')).toBe('Authorization');
    expect(hit.headers.get('etag')).toBe(miss.headers.get('etag'));
    expect(hit.headers.get('vercel-cache-tag')).toBeNull();
    expect(hit.headers.get('age')).toMatch(/^\d+$/);
    expect(hit.headers.get('content-length')).toBe(String(hit.length));
    const head = await profile(token, 'HEAD');
    expect(head).toMatchObject({ status: 200, cache: 'HIT', viaExpress: false, body: null });
    expect(head.headers.get('content-length')).toBe(String(hit.length));
    expect(head.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it("never gives a learner another learner's cached profile", async () => {
    const [alice, bob] = [randomUUID(), randomUUID()];
    const [aliceToken, bobToken] = await Promise.all([
      issueLocalLearnerToken(app.env, alice),
      issueLocalLearnerToken(app.env, bob),
    ]);
    expect((await profile(aliceToken)).body).toMatchObject({ learner_id: alice });
    expect(await profile(aliceToken)).toMatchObject({ cache: 'HIT', body: { learner_id: alice } });
    expect(await profile(bobToken)).toMatchObject({ cache: 'MISS', viaExpress: true, body: { learner_id: bob } });
    expect(await profile(bobToken)).toMatchObject({ cache: 'HIT', body: { learner_id: bob } });
    // Without a token (or with a broken one) nothing cached is served: the route answers 401.
    const anonymous = await fetch(`${base}/api/user/profile`);
    expect([anonymous.status, anonymous.headers.get(CACHE_STATUS_HEADER)]).toEqual([401, 'BYPASS']);
    expect((await profile(`${aliceToken}x`)).status).toBe(401);
  });

  it('serves the old profile until the outbox drains, then stale once, then the new one', async () => {
    const learner = randomUUID();
    const token = await issueLocalLearnerToken(app.env, learner);
    await profile(token);
    const patched = await fetch(`${base}/api/user/profile`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ display_name: 'Fresh Fiona' }),
    });
    expect(patched.status).toBe(200);
    // The PATCH starts a drain itself; until one has run the old answer is still fresh.
    await vi.waitFor(async () => expect((await profile(token)).cache).toBe('STALE'));
    await drainWithRuntime(app.runtime);
    await cache.settled();
    expect(await profile(token)).toMatchObject({
      cache: 'HIT',
      viaExpress: false,
      body: { display_name: 'Fresh Fiona' },
    });
  });

  it('serves nothing cached to a token that has expired: the route decides again', async () => {
    const token = await issueLocalLearnerToken(app.env, randomUUID(), { expiresInSeconds: 1 });
    expect((await profile(token)).cache).toBe('MISS');
    expect((await profile(token)).cache).toBe('HIT');
    // Past `exp` (whole seconds), well within the entry's s-maxage of 60 s: not from the cache.
    // (The route itself still honours the token for its 5 s of clock tolerance, then answers 401.)
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(await profile(token)).toMatchObject({ cache: 'MISS', viaExpress: true });
    expect(await profile(token)).toMatchObject({ viaExpress: true });
  });
});
