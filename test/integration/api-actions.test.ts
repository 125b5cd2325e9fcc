import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import type { ServerBuild } from '@remix-run/node';
import express from 'express';

import { apiActionsListener, fixedPathApiActions } from '../../app/server/api-actions.server';
import { createApiToken } from '../../app/server/auth/api-tokens.server';
import { CROSS_SITE_MESSAGE, mayChangeState } from '../../app/server/auth/same-origin.server';
import { issueLocalLearnerToken, learnerApiDeps } from '../../app/server/learner-api.server';
import { remixRequestHandler } from '../../app/server/remix-handler.server';
import { addMissingHeadersOnWriteHead, securityHeaders } from '../../app/server/security-headers.server';
import { databaseTargets, type TestDatabase } from '../support/databases';
import { seededChapterIds } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/remix-app';

/**
 * `npm start`'s short way to the API's actions (issue 14, ADR 0026) over real HTTP, beside the
 * long way it replaces: the same requests sent to a server with the listener in front of
 * Express and to one with Express and Remix alone must get the same answers, status, body and
 * headers, while the short way never reaches Express.
 */
describe.each(databaseTargets())('the API actions listener on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;
  let build: ServerBuild;
  let chapters: string[];
  let staffToken: string;
  const servers: Server[] = [];
  let short: string;
  let long: string;
  /** How many requests reached Express, on either server. */
  let throughExpress = 0;

  const listen = async (server: Server) => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    test_ = await target.create();
    chapters = await seededChapterIds(test_.db);
    app = await createTestApp(test_.db);
    build = (await import(pathToFileURL(path.resolve('build/index.js')).href)) as ServerBuild;
    // Express as server.ts has it for the API: the security headers, the cross-site guard, Remix.
    const express_ = express();
    express_.disable('x-powered-by');
    express_.use((_req, res, next) => {
      throughExpress += 1;
      addMissingHeadersOnWriteHead(res, securityHeaders(null));
      next();
    });
    express_.use((req, res, next) =>
      mayChangeState(req, null) ? next() : res.status(403).type('text/plain').send(CROSS_SITE_MESSAGE),
    );
    express_.all('*', remixRequestHandler(build));
    short = await listen(
      createServer(apiActionsListener({ build, baseHeaders: securityHeaders(null), appOrigin: null, next: express_ })),
    );
    long = await listen(createServer(express_));
    const admin = await app.staffSession('admin', 'actions-admin@example.com');
    ({ token: staffToken } = await createApiToken(
      test_.db,
      { id: admin.id, email: admin.email, displayName: 'a', role: 'admin' },
      { name: 'actions', scopes: ['submit'] },
    ));
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await learnerApiDeps(app.runtime).samples.flush();
    await test_.drop();
  });

  /** The same request both ways: each answer as a client sees it, and whether it reached Express. */
  async function bothWays(pathname: string, init: () => RequestInit) {
    const send = async (base: string) => {
      const before = throughExpress;
      const response = await fetch(`${base}${pathname}`, init());
      const text = await response.text();
      const headers = Object.fromEntries(
        [...response.headers].filter(([name]) => !['date', 'connection', 'keep-alive'].includes(name)),
      );
      return { status: response.status, headers, text, viaExpress: throughExpress > before };
    };
    return { short: await send(short), long: await send(long) };
  }

  const json =
    (authorization: string | null, body: unknown, method = 'POST') =>
    () => ({
      method,
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('knows the API actions at fixed paths, and only those', () => {
    const paths = [...fixedPathApiActions(build).keys()].sort();
    expect(paths).toEqual(
      expect.arrayContaining(['/api/content/generate-chapter', '/api/progress/update', '/api/user/profile']),
    );
    expect(paths.every((p) => p.startsWith('/api/') && !/[:*]/.test(p))).toBe(true);
    expect(paths).not.toContain('/api/jobs/:jobId/cancel');
  });

  it('answers refusals exactly as Express and Remix do, without reaching Express', async () => {
    const learner = `Bearer ${await issueLocalLearnerToken(app.env, randomUUID())}`;
    const cases: [string, () => RequestInit][] = [
      ['/api/progress/update', json(null, { chapter_id: chapters[0], percent: 10 })],
      ['/api/progress/update', json(learner, { chapter_id: 'nope', percent: 140, extra: true })],
      ['/api/progress/update', json(learner, '{"chapter_id": ')],
      [
        '/api/progress/update',
        json(learner, { client_event_id: 'x', chapter_id: chapters[0], note: 'a'.repeat(8_000) }),
      ],
      [
        '/api/progress/update',
        json(`Bearer ${staffToken}`, { client_event_id: 'y', chapter_id: chapters[0], percent: 1 }),
      ],
      ['/api/user/profile', json(learner, { display_name: '', theme: 'neon' }, 'PATCH')],
      ['/api/content/generate-chapter', json(`Bearer ${staffToken}`, { chapter_id: randomUUID() })],
      ['/api/content/generate-chapter', json(learner, { chapter_id: chapters[0] })],
      ['/api/content/generate-chapter', json(`Bearer ${staffToken}`, { chapter_id: chapters[0], colour: 'red' })],
    ];
    for (const [pathname, init] of cases) {
      const answers = await bothWays(pathname, init);
      expect(answers.short.status, `${pathname} ${String(init().body)}`).toBeGreaterThanOrEqual(400);
      expect({ ...answers.short, viaExpress: undefined }).toEqual({ ...answers.long, viaExpress: undefined });
      expect(answers.short.viaExpress).toBe(false);
      expect(answers.long.viaExpress).toBe(true);
    }
  });

  it('records the same progress and answers alike, with the security headers, each learner their own', async () => {
    const tokens = [randomUUID(), randomUUID()].map((id) => issueLocalLearnerToken(app.env, id));
    const [shortLearner, longLearner] = await Promise.all(tokens);
    const update = { client_event_id: 'read-1', chapter_id: chapters[1], percent: 40, time_spent_seconds: 30 };
    const send = async (base: string, token: string) => {
      const response = await fetch(`${base}/api/progress/update`, json(`Bearer ${token}`, update)());
      return { status: response.status, headers: response.headers, body: (await response.json()) as object };
    };
    const viaShort = await send(short, shortLearner);
    const viaLong = await send(long, longLearner);
    expect(viaShort.status).toBe(200);
    // The same answer but for whose it is and when it was written.
    const comparable = ({ learner_id: _, updated_at: __, ...rest }: Record<string, unknown>) => rest;
    expect(comparable(viaShort.body as Record<string, unknown>)).toEqual(
      comparable(viaLong.body as Record<string, unknown>),
    );
    expect(viaShort.body).toMatchObject({ percent: 40, replayed: false });
    for (const [name, value] of Object.entries(securityHeaders(null))) expect(viaShort.headers.get(name)).toBe(value);
    // A replay changes nothing, the short way too.
    const replay = await send(short, shortLearner);
    expect(replay.body).toMatchObject({ ...comparable(viaShort.body as Record<string, unknown>), replayed: true });
  });

  it('queues a submit the short way as the long way does: 202, a job, the routing headers', async () => {
    const answers = await bothWays(
      '/api/content/generate-chapter',
      json(`Bearer ${staffToken}`, { chapter_id: chapters[2] }),
    );
    expect(answers.short.status).toBe(202);
    expect(answers.long.status).toBe(202);
    const ids = [answers.short, answers.long].map((answer) => (JSON.parse(answer.text) as { job_id: string }).job_id);
    const rows = await test_.db.query<{ id: string; chapter_id: string }>(
      'select id, chapter_id from public.chapter_content_jobs where id = any($1::uuid[])',
      [ids],
    );
    expect(rows.map((row) => row.chapter_id)).toEqual([chapters[2], chapters[2]]);
    expect(answers.short.headers).toEqual(answers.long.headers);
    expect(answers.short.viaExpress).toBe(false);
  });

  it('refuses a cross-site action riding on a cookie, as Express does', async () => {
    const init = () => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: 'switchyard_session=x', origin: 'https://evil.example' },
      body: JSON.stringify({ chapter_id: chapters[0] }),
    });
    const answers = await bothWays('/api/content/generate-chapter', init);
    expect(answers.short).toMatchObject({ status: 403, text: CROSS_SITE_MESSAGE, viaExpress: false });
    expect(answers.long).toMatchObject({ status: 403, text: CROSS_SITE_MESSAGE });
  });

  it('answers a path with a query string, and leaves other spellings and methods to Remix', async () => {
    const learner = `Bearer ${await issueLocalLearnerToken(app.env, randomUUID())}`;
    const body = { client_event_id: 'q-1', chapter_id: 'nope', percent: 1 };
    const withQuery = await bothWays('/api/progress/update?from=app', json(learner, body));
    expect(withQuery.short).toEqual({ ...withQuery.long, viaExpress: false });
    expect(withQuery.short.status).toBe(400);
    for (const pathname of ['/api/progress/update/', '/API/progress/update']) {
      const answers = await bothWays(pathname, json(learner, body));
      expect({ ...answers.short, viaExpress: true }).toEqual(answers.long);
      expect(answers.short.viaExpress).toBe(true);
    }
    // Remix answers 405 to a method it does not route to actions; the short way never takes it.
    const unusual = await bothWays('/api/content/generate-chapter', () => ({
      method: 'PROPFIND',
      headers: { authorization: `Bearer ${staffToken}` },
    }));
    expect(unusual.short).toEqual(unusual.long);
    expect(unusual.short).toMatchObject({ status: 405, viaExpress: true });
  });

  it('reads a header sent twice as Node does, as the long way does', async () => {
    const { request } = await import('node:http');
    const send = (base: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const url = new URL(`${base}/api/content/generate-chapter`);
        const payload = JSON.stringify({ chapter_id: chapters[3] });
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        // Node keeps the first Authorization of two; a web Headers would join them into one.
        req.setHeader('authorization', [`Bearer ${staffToken}`, 'Bearer sy_someone-else']);
        req.on('error', reject);
        req.end(payload);
      });
    const [viaShort, viaLong] = [await send(short), await send(long)];
    expect(viaShort.status).toBe(viaLong.status);
    expect(viaShort).toMatchObject({ status: 202 });
  });

  it('leaves reads, paths with params, and chunked or large bodies to Express and Remix', async () => {
    const learner = `Bearer ${await issueLocalLearnerToken(app.env, randomUUID())}`;
    const before = throughExpress;
    await fetch(`${short}/api/user/profile`, { headers: { authorization: learner } });
    await fetch(`${short}/api/jobs/${randomUUID()}/cancel`, json(`Bearer ${staffToken}`, {})());
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"chapter_id":"x"}'));
        controller.close();
      },
    });
    const streamed = await fetch(`${short}/api/progress/update`, {
      method: 'POST',
      headers: { authorization: learner, 'content-type': 'application/json' },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(400);
    const large = await fetch(`${short}/api/progress/update`, json(learner, { note: 'a'.repeat(70 * 1024) })());
    expect(large.status).toBe(413);
    expect(throughExpress - before).toBe(4);
  });
});

describe('the API actions listener, when an action fails', () => {
  it('logs through the build and answers 500 as Remix does; a thrown Response is the answer', async () => {
    const logged: unknown[] = [];
    const route = (id: string, action: () => Promise<Response>) => ({
      id,
      parentId: 'root',
      path: id,
      module: { action },
    });
    const build = {
      entry: { module: { handleError: (error: unknown) => void logged.push(error) } },
      routes: {
        root: { id: 'root', path: '', module: { default: () => null } },
        broken: route('api/broken', () => Promise.reject(new Error('boom'))),
        refusing: route('api/refusing', () => Promise.reject(Response.json({ error: 'no' }, { status: 409 }))),
      },
    } as unknown as ServerBuild;
    const server = createServer(
      apiActionsListener({
        build,
        baseHeaders: { 'x-content-type-options': 'nosniff' },
        appOrigin: null,
        next: () => {},
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const broken = await fetch(`${base}/api/broken`, { method: 'POST' });
      expect(broken.status).toBe(500);
      expect(await broken.text()).toBe('Unexpected Server Error');
      expect(broken.headers.get('x-content-type-options')).toBe('nosniff');
      expect(logged).toEqual([new Error('boom')]);
      const refusing = await fetch(`${base}/api/refusing`, { method: 'POST' });
      expect(refusing.status).toBe(409);
      expect(await refusing.json()).toEqual({ error: 'no' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
