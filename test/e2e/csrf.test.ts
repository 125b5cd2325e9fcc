import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { demoEmail, DEMO_PASSWORD } from '../../app/server/auth/bootstrap.server';
import { startApp, type AppProcess } from '../support/app-process';

describe('cross-site requests against the running server', () => {
  let dataDir: string;
  let app: AppProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-csrf-'));
    app = await startApp({ PGLITE_DATA_DIR: dataDir });
  });
  afterAll(async () => {
    await app?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const post = (pathname: string, body: Record<string, string>, headers: Record<string, string>) =>
    fetch(`${app.url}${pathname}`, { method: 'POST', body: new URLSearchParams(body), headers, redirect: 'manual' });

  it('refuses a cross-site form post with 403 and accepts the same post from its own origin', async () => {
    const signIn = await post('/sign-in', { email: demoEmail('admin'), password: DEMO_PASSWORD }, { Origin: app.url });
    expect(signIn.status).toBe(302);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
    const staff = {
      intent: 'create',
      email: 'csrf@example.com',
      displayName: 'X',
      role: 'admin',
      password: 'long enough password',
    };

    const crossSite = await post('/admin/staff', staff, { Origin: 'https://evil.example', Cookie: cookie });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.text()).toContain('came from another site');
    const loginCsrf = await post(
      '/sign-in',
      { email: demoEmail('admin'), password: DEMO_PASSWORD },
      { Origin: 'https://evil.example' },
    );
    expect(loginCsrf.status).toBe(403);

    const sameSite = await post('/admin/staff', staff, { Origin: app.url, Cookie: cookie });
    expect(sameSite.status).toBe(200);
    expect(await sameSite.text()).toContain('Added csrf@example.com');
  });

  it('tells an API caller without credentials 401 "missing or invalid token" in JSON, and still refuses a cross-site one with a session', async () => {
    const anonymous = await fetch(`${app.url}/api/content/generate-chapter`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: 'https://elsewhere.example' },
      body: JSON.stringify({ chapter_id: '00000000-0000-4000-8000-000000000000' }),
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await anonymous.json()).toMatchObject({
      error: { code: 'unauthorized', message: expect.stringMatching(/^Missing or invalid token/) },
    });

    const signIn = await post('/sign-in', { email: demoEmail('admin'), password: DEMO_PASSWORD }, { Origin: app.url });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
    const withSession = await fetch(`${app.url}/api/content/generate-chapter`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: 'https://evil.example', Cookie: cookie },
      body: JSON.stringify({ chapter_id: '00000000-0000-4000-8000-000000000000' }),
    });
    expect(withSession.status).toBe(403);
    expect(await withSession.text()).toContain('came from another site');
  });
});
