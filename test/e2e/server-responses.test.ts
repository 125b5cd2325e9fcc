import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { demoEmail, DEMO_PASSWORD } from '../../app/server/auth/bootstrap.server';
import { startApp, type AppProcess } from '../support/app-process';

const run = promisify(execFile);
const HSTS = 'max-age=31536000; includeSubDomains';
/** Enough tries that a race between the 413 and a closed socket shows up (it did in 1 of 3). */
const TRIES = 20;

async function signIn(app: AppProcess): Promise<string> {
  const response = await fetch(`${app.url}/sign-in`, {
    method: 'POST',
    body: new URLSearchParams({ email: demoEmail('admin'), password: DEMO_PASSWORD }),
    headers: { Origin: app.url },
    redirect: 'manual',
  });
  expect(response.status).toBe(302);
  return (response.headers.get('set-cookie') ?? '').split(';')[0];
}

describe('the running server (npm start) in production', () => {
  let dataDir: string;
  let app: AppProcess;
  let cookie: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-responses-'));
    app = await startApp({ PGLITE_DATA_DIR: dataDir, NODE_ENV: 'production', EMBEDDED_WORKER: 'false' });
    cookie = await signIn(app);
  }, 120_000);
  afterAll(async () => {
    await app?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const oversized = (bytes: number) => JSON.stringify({ chapter_ids: [], name: 'x'.repeat(bytes) });

  it.each([
    ['just over the limit', 200 * 1024, TRIES],
    ['2 MB', 2 * 1024 * 1024, TRIES],
    ['20 MB', 20 * 1024 * 1024, 5],
  ])('answers a %s body with a 413 that Node fetch can read, every time', async (_name, bytes, tries) => {
    const body = oversized(bytes);
    for (let i = 0; i < tries; i++) {
      const response = await fetch(`${app.url}/api/content/batch-generate`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Cookie: cookie, Origin: app.url },
        body,
      });
      expect(response.status, `try ${i + 1}`).toBe(413);
      expect(await response.json()).toMatchObject({ error: { code: 'body_too_large' } });
    }
  });

  it('answers an oversized body streamed without Content-Length with a 413', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    for (let i = 0; i < 5; i++) {
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 0) controller.enqueue(new TextEncoder().encode('{"name":"'));
          if (sent >= 4 * 1024 * 1024) return controller.close();
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      const response = await fetch(`${app.url}/api/content/generate-chapter`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Cookie: cookie, Origin: app.url },
        body,
        duplex: 'half',
      } as RequestInit);
      expect(response.status, `try ${i + 1}`).toBe(413);
    }
  });

  it('answers an oversized body sent by curl with a 413', async () => {
    const file = path.join(dataDir, 'big.json');
    await writeFile(file, oversized(8 * 1024 * 1024));
    for (let i = 0; i < TRIES; i++) {
      const { stdout } = await run('curl', [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-H',
        'Content-Type: application/json',
        '-H',
        `Cookie: ${cookie}`,
        '-H',
        `Origin: ${app.url}`,
        '--data-binary',
        `@${file}`,
        `${app.url}/api/content/batch-generate`,
      ]);
      expect(stdout, `try ${i + 1}`).toBe('413');
    }
  });

  it('answers a large body refused before it is read (not signed in) with a 401 that fetch can read', async () => {
    const body = oversized(2 * 1024 * 1024);
    for (let i = 0; i < TRIES; i++) {
      const response = await fetch(`${app.url}/api/content/batch-generate`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer not-a-token' },
        body,
      });
      expect(response.status, `try ${i + 1}`).toBe(401);
    }
  });

  it('keeps serving on the same connection after a drained 413', async () => {
    const response = await fetch(`${app.url}/api/content/batch-generate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: cookie, Origin: app.url },
      body: oversized(300 * 1024),
    });
    expect(response.status).toBe(413);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });

  it('sends Strict-Transport-Security on pages, data requests, API answers, errors and static files', async () => {
    const responses = await Promise.all(
      [
        ['/sign-in', {}],
        ['/jobs', { Cookie: cookie }],
        ['/jobs?_data=routes%2Fjobs._index', { Cookie: cookie }],
        ['/healthz', {}],
        ['/api/jobs/00000000-0000-4000-8000-000000000000', { Cookie: cookie }],
        ['/no-such-page', {}],
        ['/favicon.ico', {}],
      ].map(([pathname, headers]) =>
        fetch(`${app.url}${pathname as string}`, { headers: headers as Record<string, string>, redirect: 'manual' }),
      ),
    );
    for (const response of responses)
      expect(response.headers.get('strict-transport-security'), response.url).toBe(HSTS);
  });
});

describe('the running server in development', () => {
  let dataDir: string;
  let app: AppProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-responses-dev-'));
    app = await startApp({ PGLITE_DATA_DIR: dataDir, NODE_ENV: 'development', EMBEDDED_WORKER: 'false' });
  }, 120_000);
  afterAll(async () => {
    await app?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('sends no Strict-Transport-Security (http://localhost must keep working)', async () => {
    for (const pathname of ['/sign-in', '/healthz']) {
      const response = await fetch(`${app.url}${pathname}`);
      expect(response.headers.get('strict-transport-security')).toBeNull();
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });
});
