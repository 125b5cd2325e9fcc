import { SignJWT } from 'jose';

import { databaseTargets, type TestDatabase } from '../support/databases';
import { createTestApp, type TestApp } from '../support/remix-app';
import { createStaff } from '../../app/server/services/staff.server';

const SUPABASE_URL = 'https://project.supabase.test';
const SECRET = 'super-secret-jwt-token-with-at-least-32-characters';

const accessToken = (sub: string, email: string, secret = SECRET) =>
  new SignJWT({ email })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer(`${SUPABASE_URL}/auth/v1`)
    .setAudience('authenticated')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));

describe.each(databaseTargets())('Supabase sign-in on $name', (target) => {
  let test_: TestDatabase;
  let app: TestApp;

  beforeEach(async () => {
    test_ = await target.create();
    app = await createTestApp(test_.db, { SUPABASE_URL, SUPABASE_ANON_KEY: 'anon-key', SUPABASE_JWT_SECRET: SECRET });
  });
  afterEach(() => test_.drop());

  const exchange = async (token: string) =>
    app.request('/sign-in', { method: 'POST', body: app.form({ accessToken: token, redirectTo: '/jobs' }) });

  it('maps a Supabase user to staff by email, records the user id, and issues a session', async () => {
    await createStaff(test_.db, 'system', {
      email: 'writer@example.com',
      displayName: 'Writer',
      role: 'content_manager',
    });
    const userId = '11111111-2222-4333-8444-555555555555';
    const response = await exchange(await accessToken(userId, 'writer@example.com'));
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/jobs');
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0];
    expect((await app.request('/jobs', { cookie })).status).toBe(200);
    const [staff] = await test_.db.query<{ auth_user_id: string }>(
      `select auth_user_id from public.staff where email = 'writer@example.com'`,
    );
    expect(staff.auth_user_id).toBe(userId);
  });

  it('refuses a valid Supabase user who is not staff, or is disabled, with a clear message', async () => {
    const stranger = await exchange(await accessToken('99999999-2222-4333-8444-555555555555', 'someone@example.com'));
    expect(stranger.status).toBe(403);
    expect(await stranger.text()).toContain('someone@example.com is not a Switchyard staff member');

    await createStaff(test_.db, 'system', { email: 'gone@example.com', displayName: 'Gone', role: 'ops' });
    await test_.db.query(`update public.staff set disabled_at = now() where email = 'gone@example.com'`);
    const disabled = await exchange(await accessToken('88888888-2222-4333-8444-555555555555', 'gone@example.com'));
    expect(disabled.status).toBe(403);
    expect(await disabled.text()).toContain('This staff account is disabled');
  });

  it('refuses a forged token', async () => {
    await createStaff(test_.db, 'system', {
      email: 'writer@example.com',
      displayName: 'Writer',
      role: 'content_manager',
    });
    const forged = await exchange(
      await accessToken('11111111-2222-4333-8444-555555555555', 'writer@example.com', 'x'.repeat(40)),
    );
    expect(forged.status).toBe(401);
    expect(forged.headers.get('set-cookie')).toBeNull();
  });
});
